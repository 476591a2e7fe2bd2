package cluster

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bins are the worker and tinkerfake binaries, built once per run.
var bins struct {
	once              sync.Once
	dir, worker, fake string
	err               error
}

func build(t *testing.T) {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "tinkex-cluster-bins")
		if bins.err != nil {
			return
		}
		bins.worker, bins.fake = filepath.Join(bins.dir, "worker"), filepath.Join(bins.dir, "tinkerfake")
		for out, pkg := range map[string]string{bins.worker: "./worker", bins.fake: "../../cmd/tinkerfake"} {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, stderr.String())
				return
			}
		}
	})
	require.NoError(t, bins.err)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// proc is a child process speaking one JSON line per command.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *lockedBuffer
	done   chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs bin with args; the process is killed at the end of the test
// if it is still running.
func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), lines: make(chan string, 64), stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	var err error
	p.stdin, err = p.cmd.StdinPipe()
	require.NoError(t, err)
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", p.name, p.stderr.String())
		}
	})
	return p
}

func (p *proc) line() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		require.True(p.t, ok, "%s exited: %s", p.name, p.stderr.String())
		return l
	case <-time.After(30 * time.Second):
		require.FailNow(p.t, p.name+" said nothing", p.stderr.String())
		return ""
	}
}

// do sends one command and decodes the answer.
func (p *proc) do(command string) map[string]any {
	p.t.Helper()
	_, err := io.WriteString(p.stdin, command+"\n")
	require.NoError(p.t, err, p.name)
	var m map[string]any
	l := p.line()
	require.NoError(p.t, json.Unmarshal([]byte(l), &m), "%s: %q", p.name, l)
	require.NotEqual(p.t, "error", m["type"], "%s %s: %v", p.name, command, m["error"])
	return m
}

// quit asks the process to stop and waits for it.
func (p *proc) quit() {
	_, _ = io.WriteString(p.stdin, "quit\n")
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill() // SIGKILL
	<-p.done
}

// fake is a tinkerfake process and its control API.
type fake struct {
	*proc
	base, control string
	hc            *http.Client
}

func startFake(t *testing.T) *fake {
	t.Helper()
	p := start(t, "tinkerfake", bins.fake, "-addr", "127.0.0.1:0", "-control", "127.0.0.1:0", "-hold", "50ms")
	f := &fake{proc: p, base: p.line(), control: p.line()}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	f.hc = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	go func() {
		for range p.lines { // drain anything else
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	})
	return f
}

func (f *fake) call(method, path string, body string) map[string]any {
	f.t.Helper()
	req, err := http.NewRequest(method, f.control+path, strings.NewReader(body))
	require.NoError(f.t, err)
	res, err := f.hc.Do(req)
	require.NoError(f.t, err)
	defer res.Body.Close()
	require.Equal(f.t, http.StatusOK, res.StatusCode)
	var m map[string]any
	require.NoError(f.t, json.NewDecoder(res.Body).Decode(&m))
	return m
}

func (f *fake) inject(fault string) { f.call(http.MethodPost, "/faults", fault) }
func (f *fake) clearFaults()        { f.call(http.MethodDelete, "/faults", "") }

func (f *fake) inflight(key string) (now, peak int) {
	m := f.call(http.MethodGet, "/inflight?key="+url.QueryEscape(key)+"&endpoint=asample", "")
	return int(m["now"].(float64)), int(m["peak"].(float64))
}

func (f *fake) resetPeak(key string) {
	f.call(http.MethodPost, "/inflight/reset?key="+url.QueryEscape(key)+"&endpoint=asample", "")
}

func (f *fake) count(key string, status int) int {
	q := "/count?key=" + url.QueryEscape(key) + "&endpoint=asample"
	if status != 0 {
		q += fmt.Sprintf("&status=%d", status)
	}
	return int(f.call(http.MethodGet, q, "")["count"].(float64))
}

// member is a worker process and the ports the others know it by.
type member struct {
	*proc
	advertise string
}

// view is one member's view of one config, from its status answer.
type view struct {
	Degraded  bool  `json:"degraded"`
	Slots     int   `json:"slots"`
	Bound     int   `json:"bound"`
	Members   int   `json:"members"`
	BackoffMS int64 `json:"backoff_ms"`
}

func (m *member) view(cfg string) view {
	m.t.Helper()
	st := m.do("status")
	raw, _ := json.Marshal(st["configs"].(map[string]any)[cfg])
	var v view
	require.NoError(m.t, json.Unmarshal(raw, &v))
	return v
}

// eventually polls cond with a deadline: the processes change the state,
// the test only waits for it.
func eventually(t *testing.T, cond func() bool, msg string, dump ...func()) {
	t.Helper()
	if !assert.Eventually(t, cond, 30*time.Second, 20*time.Millisecond, msg) {
		for _, d := range dump {
			d()
		}
		t.FailNow()
	}
}
