package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/labstack/echo/v4"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// apiJSON is the gateway's JSON marshaler (runtime.JSONPb) with a decoder
// that says what is wrong with a body in the API's words, naming the field
// by its proto name and place: "signals[0].item_id: must be a string", not
// protojson's "proto: (line 1:38): invalid value for string field itemId:
// 123". A body that decodes costs what it did; only a refused one is read a
// second time, to find the first offending value.
//
// The decoder reads the whole body as one message: no call of the API
// streams requests.
type apiJSON struct {
	runtime.JSONPb
}

func (j *apiJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error { return j.decode(r, v) })
}

func (j *apiJSON) decode(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return errors.New(bodyTooLargeMessage)
	}
	if err != nil {
		return fmt.Errorf("body: could not be read: %w", err)
	}
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		return io.EOF // no body: the gateway leaves the request empty
	}
	m := protoTarget(v)
	if m == nil {
		return j.JSONPb.Unmarshal(data, v)
	}
	if err := j.UnmarshalOptions.Unmarshal(data, m); err != nil {
		return explainBody(data, m.ProtoReflect().Descriptor(), j.UnmarshalOptions.DiscardUnknown)
	}
	return nil
}

var protoMessageType = reflect.TypeFor[proto.Message]()

// protoTarget is the message v decodes into: v itself, or the message a
// **T points at (allocated when nil), which is how the gateway decodes a
// body bound to one field (body: "item"). Nil for anything else.
func protoTarget(v any) proto.Message {
	if m, ok := v.(proto.Message); ok {
		return m
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Pointer || !rv.Elem().Type().Implements(protoMessageType) {
		return nil
	}
	if rv.Elem().IsNil() {
		rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
	}
	return rv.Elem().Interface().(proto.Message)
}

// explainBody says what is wrong with a body protojson refused, walking it
// in document order against the message: the first unknown or repeated
// field, value of the wrong type, or syntax error. Values are judged by
// protojson itself (each alone, in an otherwise empty message), so the walk
// agrees with it on what is valid.
func explainBody(data []byte, md protoreflect.MessageDescriptor, discardUnknown bool) error {
	if !utf8.Valid(data) {
		return errors.New("body: is not valid UTF-8")
	}
	// Broken JSON first, with the place json.Unmarshal finds (its offsets,
	// unlike a json.Decoder's, count from the start of the body).
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return syntaxError(data, err)
	}
	w := &bodyWalker{data: data, dec: json.NewDecoder(bytes.NewReader(data)), discardUnknown: discardUnknown}
	w.dec.UseNumber()
	var err error
	if wellKnownJSONType(md) {
		err = w.root(md)
	} else {
		err = w.message(md, "")
	}
	if err == nil {
		// protojson refused what the walk accepts; say so plainly.
		err = fmt.Errorf("body: is not a valid %s", md.Name())
	}
	return err
}

type bodyWalker struct {
	data           []byte
	dec            *json.Decoder
	discardUnknown bool
}

// bodyPlace names a value for a message: "body" for the body itself.
func bodyPlace(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func bodyProblem(path, format string, args ...any) error {
	return fmt.Errorf("%s: %s", bodyPlace(path), fmt.Sprintf(format, args...))
}

// syntax is the error for a token the walk could not read: none should
// fail, the body having been checked for syntax first.
func (w *bodyWalker) syntax(err error) error {
	return syntaxError(w.data, err)
}

// syntaxError says where a JSON syntax error is.
func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && se.Error() == "unexpected end of JSON input":
		return errors.New("body: is not valid JSON (it ends too early)")
	case errors.As(err, &se):
		line, col := lineColumn(data, se.Offset)
		return fmt.Errorf("body: is not valid JSON (line %d, column %d)", line, col)
	}
	return errors.New("body: is not valid JSON")
}

// lineColumn is the 1-based line and column of the byte before offset (where
// a syntax error's offset points just past the offending byte).
func lineColumn(data []byte, offset int64) (line, col int) {
	off := int(min(max(offset-1, 0), int64(len(data))))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	col = off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// peek returns the first byte of the next value, after the ':' or ','
// before it.
func (w *bodyWalker) peek() byte {
	i := int(w.dec.InputOffset())
	skip := func() {
		for i < len(w.data) && strings.IndexByte(" \t\r\n", w.data[i]) >= 0 {
			i++
		}
	}
	skip()
	if i < len(w.data) && (w.data[i] == ':' || w.data[i] == ',') {
		i++
		skip()
	}
	if i < len(w.data) {
		return w.data[i]
	}
	return 0
}

// message walks a JSON object that is to be a message of type md.
func (w *bodyWalker) message(md protoreflect.MessageDescriptor, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(err)
	}
	if tok != json.Delim('{') {
		return bodyProblem(path, "must be an object")
	}
	fields := md.Fields()
	seen := map[protoreflect.FieldNumber]bool{}
	oneofs := map[protoreflect.FullName]string{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntax(err)
		}
		name, _ := tok.(string)
		fd := fields.ByJSONName(name)
		if fd == nil {
			fd = fields.ByTextName(name)
		}
		if fd == nil {
			if w.discardUnknown {
				var skip json.RawMessage
				if err := w.dec.Decode(&skip); err != nil {
					return w.syntax(err)
				}
				continue
			}
			return bodyProblem(path, "unknown field %q (known: %s)", name, fieldNames(md))
		}
		fpath := joinField(path, string(fd.Name()))
		if seen[fd.Number()] {
			return bodyProblem(fpath, "is given more than once")
		}
		seen[fd.Number()] = true
		if w.peek() == 'n' && !takesNull(fd) {
			// null leaves a field unset, as protojson has it.
			if _, err := w.dec.Token(); err != nil {
				return w.syntax(err)
			}
			continue
		}
		switch {
		case fd.IsList():
			err = w.list(md, fd, fpath)
		case fd.IsMap():
			err = w.mapField(md, fd, fpath)
		default:
			if od := fd.ContainingOneof(); od != nil {
				if other, ok := oneofs[od.FullName()]; ok {
					return bodyProblem(fpath, "cannot be given with %s (only one of them)", other)
				}
				oneofs[od.FullName()] = fpath
			}
			err = w.value(md, fd, fpath, atField)
		}
		if err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.syntax(err)
	}
	return nil
}

func (w *bodyWalker) list(parent protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(err)
	}
	if tok != json.Delim('[') {
		return bodyProblem(path, "must be a list")
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(parent, fd, fmt.Sprintf("%s[%d]", path, i), atElement); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.syntax(err)
	}
	return nil
}

func (w *bodyWalker) mapField(parent protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor, path string) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(err)
	}
	if tok != json.Delim('{') {
		return bodyProblem(path, "must be an object")
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntax(err)
		}
		key, _ := tok.(string)
		kpath := fmt.Sprintf("%s[%q]", path, key)
		norm, ok := parseMapKey(fd.MapKey(), key)
		if !ok {
			return bodyProblem(kpath, "key %s", expectation(fd.MapKey(), key))
		}
		if seen[norm] {
			return bodyProblem(kpath, "is given more than once")
		}
		seen[norm] = true
		if err := w.value(parent, fd, kpath, atMapValue); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.syntax(err)
	}
	return nil
}

// parseMapKey parses a map key as protojson does and returns it normalised
// (1 and 01 are the same int key).
func parseMapKey(fd protoreflect.FieldDescriptor, key string) (string, bool) {
	var err error
	switch fd.Kind() {
	case protoreflect.StringKind:
		return key, true
	case protoreflect.BoolKind:
		return key, key == "true" || key == "false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		var n int64
		n, err = strconv.ParseInt(key, 10, 32)
		key = strconv.FormatInt(n, 10)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var n int64
		n, err = strconv.ParseInt(key, 10, 64)
		key = strconv.FormatInt(n, 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		var n uint64
		n, err = strconv.ParseUint(key, 10, 32)
		key = strconv.FormatUint(n, 10)
	default:
		var n uint64
		n, err = strconv.ParseUint(key, 10, 64)
		key = strconv.FormatUint(n, 10)
	}
	return key, err == nil
}

// valueAt is where a value sits in its message: as the field's value, an
// element of its list, or a value of its map.
type valueAt int

const (
	atField valueAt = iota
	atElement
	atMapValue
)

// value walks one value of field fd of parent: a message is walked field by
// field; anything else (a scalar, a well-known type such as Timestamp) is
// handed to protojson alone.
func (w *bodyWalker) value(parent protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor, path string, at valueAt) error {
	vd := fd
	if fd.IsMap() {
		vd = fd.MapValue()
	}
	if m := vd.Message(); m != nil && !wellKnownJSONType(m) {
		return w.message(m, path)
	}
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		return w.syntax(err)
	}
	var b bytes.Buffer
	name, _ := json.Marshal(fd.JSONName())
	b.WriteByte('{')
	b.Write(name)
	b.WriteByte(':')
	switch at {
	case atElement:
		b.WriteByte('[')
	case atMapValue:
		key, _ := json.Marshal(zeroMapKey(fd.MapKey()))
		b.WriteByte('{')
		b.Write(key)
		b.WriteByte(':')
	}
	b.Write(raw)
	switch at {
	case atElement:
		b.WriteByte(']')
	case atMapValue:
		b.WriteByte('}')
	}
	b.WriteByte('}')
	if protojson.Unmarshal(b.Bytes(), dynamicpb.NewMessage(parent)) == nil {
		return nil
	}
	return bodyProblem(path, "%s", expectation(vd, string(raw)))
}

// root walks a body that is a well-known type as a whole.
func (w *bodyWalker) root(md protoreflect.MessageDescriptor) error {
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		return w.syntax(err)
	}
	if protojson.Unmarshal(raw, dynamicpb.NewMessage(md)) == nil {
		return nil
	}
	return bodyProblem("", "%s", messageExpectation(md, string(raw)))
}

func zeroMapKey(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return "k"
	case protoreflect.BoolKind:
		return "true"
	}
	return "0"
}

// takesNull reports whether JSON null is a value of the field rather than
// its absence (google.protobuf.Value and NullValue).
func takesNull(fd protoreflect.FieldDescriptor) bool {
	if m := fd.Message(); m != nil {
		return m.FullName() == "google.protobuf.Value"
	}
	if e := fd.Enum(); e != nil {
		return e.FullName() == "google.protobuf.NullValue"
	}
	return false
}

// wellKnownJSON are the well-known types with a JSON form of their own.
var wellKnownJSON = map[protoreflect.FullName]string{
	"google.protobuf.Timestamp": "must be a timestamp like 2026-11-20T14:30:00Z",
	"google.protobuf.Duration":  "must be a duration like 90s",
	"google.protobuf.FieldMask": `must be field paths like "a,b.c"`,
	"google.protobuf.Struct":    "must be an object",
	"google.protobuf.ListValue": "must be a list",
	"google.protobuf.Value":     "must be a JSON value",
	"google.protobuf.Empty":     "must be an empty object",
	"google.protobuf.Any":       `must be an object with an "@type"`,
	// Wrappers: what their value field is.
	"google.protobuf.DoubleValue": "",
	"google.protobuf.FloatValue":  "",
	"google.protobuf.Int64Value":  "",
	"google.protobuf.UInt64Value": "",
	"google.protobuf.Int32Value":  "",
	"google.protobuf.UInt32Value": "",
	"google.protobuf.BoolValue":   "",
	"google.protobuf.StringValue": "",
	"google.protobuf.BytesValue":  "",
}

func wellKnownJSONType(md protoreflect.MessageDescriptor) bool {
	_, ok := wellKnownJSON[md.FullName()]
	return ok
}

func messageExpectation(md protoreflect.MessageDescriptor, raw string) string {
	what, ok := wellKnownJSON[md.FullName()]
	switch {
	case !ok:
		return "must be an object"
	case what == "":
		return expectation(md.Fields().ByName("value"), raw)
	}
	return what
}

// expectation says what a value of the field must be; raw is the value
// given, which tells an out-of-range whole number from one that is not.
func expectation(fd protoreflect.FieldDescriptor, raw string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return "must be a string"
	case protoreflect.BytesKind:
		return "must be base64-encoded bytes"
	case protoreflect.BoolKind:
		return "must be true or false"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "must be a number"
	case protoreflect.EnumKind:
		var names []string
		values := fd.Enum().Values()
		for i := 0; i < values.Len(); i++ {
			names = append(names, strconv.Quote(string(values.Get(i).Name())))
		}
		return "must be one of " + strings.Join(names, ", ")
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return messageExpectation(fd.Message(), raw)
	}
	lo, hi := "0", "18446744073709551615"
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		lo, hi = strconv.Itoa(math.MinInt32), strconv.Itoa(math.MaxInt32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		lo, hi = strconv.FormatInt(math.MinInt64, 10), strconv.FormatInt(math.MaxInt64, 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		hi = strconv.FormatUint(math.MaxUint32, 10)
	}
	if f, err := strconv.ParseFloat(strings.Trim(raw, `"`), 64); (err == nil || errors.Is(err, strconv.ErrRange)) && f == math.Trunc(f) {
		return fmt.Sprintf("must be a whole number from %s to %s", lo, hi)
	}
	return "must be a whole number"
}

// fieldNames lists a message's fields by proto name, in declaration order.
func fieldNames(md protoreflect.MessageDescriptor) string {
	fields := md.Fields()
	names := make([]string, fields.Len())
	for i := range names {
		names[i] = string(fields.Get(i).Name())
	}
	return strings.Join(names, ", ")
}
