package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a private Redis Cluster of three masters (no replicas) on
// loopback ports, started from the redis-server and redis-cli on PATH for
// one test and shut down with it. Nothing persists: no RDB, no AOF, each node
// in its own temporary directory.
type Cluster struct {
	// Addrs are the masters' host:port addresses.
	Addrs []string
	// Client talks to the whole cluster.
	Client *redis.ClusterClient
	// Namespace is a fresh key namespace; the cluster is the test's own, but
	// code under test is given a namespace as in production.
	Namespace string
}

// ClusterNodes is the number of masters StartCluster starts.
const ClusterNodes = 3

// RequireClusterEnv, set to 1, makes StartCluster fail instead of skip when
// redis-server or redis-cli is missing (CI sets it, so the cluster tests
// cannot silently skip).
const RequireClusterEnv = "CANDOR_REQUIRE_CLUSTER"

// clusterReadyTimeout bounds the wait for every node to report a healthy
// cluster with all slots covered.
const clusterReadyTimeout = 20 * time.Second

// URL is the form a server's --redis-url takes for the cluster: the masters'
// addresses, comma-separated.
func (c *Cluster) URL() string { return strings.Join(c.Addrs, ",") }

// StartCluster starts three redis-server processes with cluster mode on,
// joins them into one cluster covering every slot, and waits until every node
// says so. Cleanup shuts each node down (SHUTDOWN NOSAVE, then a kill if it
// lingers), so no process outlives the test. Without redis-server or
// redis-cli the test is skipped, unless CANDOR_REQUIRE_CLUSTER=1.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	serverBin, cliBin := clusterTools(tb)
	c := &Cluster{Namespace: "t" + randomHex(tb, 6)}
	for i := 0; i < ClusterNodes; i++ {
		c.Addrs = append(c.Addrs, startNode(tb, serverBin).addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.Addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cliBin, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := waitClusterOK(c.Addrs); err != nil {
		tb.Fatal(err)
	}

	c.Client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	tb.Cleanup(func() { _ = c.Client.Close() })
	// The client learns the slot map on first use; make sure it sees every
	// master before handing it out.
	deadline := time.Now().Add(clusterReadyTimeout)
	for {
		masters, err := c.masters(context.Background())
		if err == nil && len(masters) == ClusterNodes {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("cluster client sees masters %v (%v), want %d", masters, err, ClusterNodes)
		}
		c.Client.ReloadState(context.Background())
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// Snapshot reads every key on every master, whatever its name (the cluster
// is the test's own, so a key outside the namespace is itself a finding),
// with everything it holds, sorted by node and name.
func (c *Cluster) Snapshot(tb testing.TB) []Key {
	tb.Helper()
	var mu sync.Mutex
	var out []Key
	err := c.Client.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
		keys, err := snapshotNode(ctx, node, node.Options().Addr, "*")
		mu.Lock()
		out = append(out, keys...)
		mu.Unlock()
		return err
	})
	if err != nil {
		tb.Fatalf("cluster snapshot: %v", err)
	}
	sortKeys(out)
	return out
}

func (c *Cluster) masters(ctx context.Context) ([]string, error) {
	var mu sync.Mutex
	var addrs []string
	err := c.Client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		addrs = append(addrs, node.Options().Addr)
		return nil
	})
	slices.Sort(addrs)
	return slices.Compact(addrs), err
}

// clusterTools finds redis-server and redis-cli, or skips (or fails, when
// CANDOR_REQUIRE_CLUSTER=1).
func clusterTools(tb testing.TB) (serverBin, cliBin string) {
	tb.Helper()
	var missing []string
	serverBin, err := exec.LookPath("redis-server")
	if err != nil {
		missing = append(missing, "redis-server")
	}
	cliBin, err = exec.LookPath("redis-cli")
	if err != nil {
		missing = append(missing, "redis-cli")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("a local Redis Cluster needs %s on PATH (Debian: apt-get install redis-server redis-tools)", strings.Join(missing, " and "))
		if os.Getenv(RequireClusterEnv) == "1" {
			tb.Fatalf("%s; %s=1 forbids skipping", msg, RequireClusterEnv)
		}
		tb.Skip(msg)
	}
	return serverBin, cliBin
}

// node is one redis-server process.
type node struct {
	addr string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once the process has exited
}

// startNode starts one cluster-enabled redis-server on free loopback ports,
// trying again on fresh ports if another process took one in between.
func startNode(tb testing.TB, bin string) *node {
	tb.Helper()
	var errs []error
	for attempt := 0; attempt < 3; attempt++ {
		n, err := tryNode(tb, bin)
		if err == nil {
			return n
		}
		errs = append(errs, err)
	}
	tb.Fatalf("redis-server did not start: %v", errors.Join(errs...))
	return nil
}

func tryNode(tb testing.TB, bin string) (*node, error) {
	tb.Helper()
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir := tb.TempDir()
	n := &node{addr: "127.0.0.1:" + strconv.Itoa(ports[0]), log: filepath.Join(dir, "redis.log"), done: make(chan struct{})}
	// The cluster bus port is given explicitly: the default, port+10000,
	// may be taken or beyond 65535 for a port from the ephemeral range.
	n.cmd = exec.Command(bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(ports[1]),
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
		"--dir", dir, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--logfile", n.log)
	n.cmd.SysProcAttr = childProcAttr()
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	tb.Cleanup(n.stop)

	client := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-n.done:
			return nil, fmt.Errorf("redis-server on %s exited: %s", n.addr, n.logTail())
		default:
		}
		if client.Ping(context.Background()).Err() == nil {
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("redis-server on %s does not answer: %s", n.addr, n.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the node down without saving, and kills it if it has not
// exited within five seconds. It waits for the process either way.
func (n *node) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	client := redis.NewClient(&redis.Options{Addr: n.addr, MaxRetries: -1, DialTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = client.Do(ctx, "SHUTDOWN", "NOSAVE").Err() // the connection closes: an error is expected
	cancel()
	_ = client.Close()
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

func (n *node) logTail() string {
	b, err := os.ReadFile(n.log)
	if err != nil {
		return "(no log)"
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-5):], []byte("\n")))
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitClusterOK waits until every node reports cluster_state:ok, every slot
// assigned and healthy, and every node known.
func waitClusterOK(addrs []string) error {
	deadline := time.Now().Add(clusterReadyTimeout)
	var last string
	for {
		ok := true
		for _, addr := range addrs {
			info, err := clusterInfo(addr)
			if err != nil {
				ok, last = false, fmt.Sprintf("%s: %v", addr, err)
				break
			}
			if info["cluster_state"] != "ok" || info["cluster_slots_assigned"] != "16384" ||
				info["cluster_slots_ok"] != "16384" || info["cluster_known_nodes"] != strconv.Itoa(len(addrs)) {
				ok, last = false, fmt.Sprintf("%s: %v", addr, info)
				break
			}
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster not ready within %s; last CLUSTER INFO %s", clusterReadyTimeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func clusterInfo(addr string) (map[string]string, error) {
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	raw, err := client.ClusterInfo(ctx).Result()
	if err != nil {
		return nil, err
	}
	info := map[string]string{}
	for _, line := range strings.Split(raw, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			info[k] = v
		}
	}
	return info, nil
}
