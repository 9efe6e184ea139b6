package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/candorhq/candor/app"
	"github.com/candorhq/candor/internal/fault"
)

// Authentication: every call but the public ones carries
// "Authorization: Bearer <credential>", an API key (whose role the keyring
// knows) or a customer token (which the core opens). The interceptor puts
// the Actor into the call's context; the services pass it to the core,
// which checks the access table and whose data the call is about.

type actorKey struct{}

// ActorFrom returns the authenticated caller.
func ActorFrom(ctx context.Context) (app.Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(app.Actor)
	return a, ok
}

// actor returns the caller of a call that passed authentication.
func actor(ctx context.Context) app.Actor {
	a, _ := ActorFrom(ctx)
	return a
}

// withActor returns ctx carrying who.
func withActor(ctx context.Context, who app.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

// GPCHeader is the Sec-GPC header as gRPC metadata (the REST gateway
// forwards it under this name).
const GPCHeader = "sec-gpc"

// SendsGPC reports whether a header's values carry the Global Privacy
// Control ("1").
func SendsGPC(values []string) bool {
	for _, v := range values {
		if v == "1" {
			return true
		}
	}
	return false
}

// publicMethod reports the methods that need no credential: health checks
// for load balancers and reflection for grpcurl (the API schema is public).
func publicMethod(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

// authenticator turns a call's credential into an Actor.
type authenticator struct {
	keys *keyring
	core *app.App
}

func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if publicMethod(info.FullMethod) {
		return handler(ctx, req)
	}
	who, err := a.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(withActor(ctx, who), req)
}

// admit authenticates the caller and refuses, by the core's own access
// table, a method the caller's role may not call: every use case checks it
// again, and this keeps a method whose handler forgot to fail closed.
func (a *authenticator) admit(ctx context.Context, fullMethod string) (app.Actor, error) {
	who, err := a.authenticate(ctx)
	if err != nil {
		return app.Actor{}, err
	}
	if op := opOf(fullMethod); !app.Allowed(op, who.Role) {
		return app.Actor{}, status.Errorf(codes.PermissionDenied, "role %s may not call %s", who.Role, op.Method())
	}
	return who, nil
}

func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if publicMethod(info.FullMethod) {
		return handler(srv, ss)
	}
	who, err := a.admit(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &contextStream{ServerStream: ss, ctx: withActor(ss.Context(), who)})
}

func (a *authenticator) authenticate(ctx context.Context) (app.Actor, error) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization") // no copy of the whole metadata
	if len(values) != 1 {
		return app.Actor{}, status.Error(codes.Unauthenticated, "missing API key: send the header \"Authorization: Bearer <key>\"")
	}
	scheme, credential, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || credential == "" {
		return app.Actor{}, status.Error(codes.Unauthenticated, "malformed Authorization header: want \"Bearer <key>\"")
	}
	who, err := a.actorOf(strings.TrimSpace(credential))
	if err != nil {
		return app.Actor{}, err
	}
	who.GPC = SendsGPC(metadata.ValueFromIncomingContext(ctx, GPCHeader))
	return who, nil
}

// actorOf maps a presented credential (API key or customer token) to who
// is calling.
func (a *authenticator) actorOf(credential string) (app.Actor, error) {
	if strings.HasPrefix(credential, app.TokenPrefix) && a.core != nil {
		sess, err := a.core.OpenToken(credential)
		if err != nil {
			return app.Actor{}, status.Error(codes.Unauthenticated, fault.MessageOf(err))
		}
		return app.CustomerActor(sess.Customer, false), nil
	}
	role, name, ok := a.keys.find(credential)
	if !ok {
		return app.Actor{}, status.Error(codes.Unauthenticated, "unknown API key")
	}
	return app.Actor{Role: role, KeyName: name}, nil
}

// contextStream gives a stream a context of its own.
type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *contextStream) Context() context.Context { return c.ctx }
