package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/rpc"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair (Linux /dev/ptmx, pty(7)) with a
// window of cols x rows.
func openPTY(t *testing.T, cols, rows uint16) (master, slave *os.File) {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		master.Close()
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN) // ptsname
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	if cols > 0 {
		if err := unix.IoctlSetWinsize(mfd, unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows}); err != nil {
			master.Close()
			t.Fatal(err)
		}
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatal(err)
	}
	return master, slave
}

// screen collects what the program writes to the terminal and lets the test
// wait for text to appear.
type screen struct {
	mu      sync.Mutex
	text    strings.Builder
	changed chan struct{} // signalled after each read
	done    chan struct{} // closed when the reader has stopped
}

func newScreen(master *os.File) *screen {
	s := &screen{changed: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				s.mu.Lock()
				s.text.Write(buf[:n])
				s.mu.Unlock()
				select {
				case s.changed <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return // EIO once the slave side is closed
			}
		}
	}()
	return s
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// waitFor waits until the output from offset on matches re, and returns the
// end offset of the match.
func (s *screen) waitFor(t *testing.T, what string, from int, re *regexp.Regexp) int {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		out := s.String()
		if loc := re.FindStringIndex(out[from:]); loc != nil {
			return from + loc[1]
		}
		select {
		case <-s.changed:
		case <-timeout.C:
			t.Fatalf("%s: %q not in the terminal output after offset %d:\n%q", what, re, from, out[from:])
		}
	}
}

// TestAttachConsole drives the interactive console through a real
// pseudo-terminal, as a person at a terminal would: a call, tab completion,
// history, a subscription over WebSocket, and Ctrl-D.
func TestAttachConsole(t *testing.T) {
	t.Run("120x40", func(t *testing.T) { testAttachConsole(t, 120, 40) })
	// A terminal that reports no size (0x0), as some do under CI and
	// script(1): the console keeps its default width instead of 1.
	t.Run("no size", func(t *testing.T) { testAttachConsole(t, 0, 0) })
}

func testAttachConsole(t *testing.T, cols, rows uint16) {
	n := startAdminNode(t)
	peer := startAdminNode(t)
	master, slave := openPTY(t, cols, rows)
	defer master.Close()
	scr := newScreen(master)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}

	old := attachStdin
	attachStdin = slave
	defer func() { attachStdin = old }()
	exit := make(chan int, 1)
	url := "ws://" + n.Endpoints().WS
	go func() { exit <- run(context.Background(), []string{"attach", url}, slave, slave) }()
	typeKeys := func(keys string) {
		t.Helper()
		if _, err := master.WriteString(keys); err != nil {
			t.Fatal(err)
		}
	}
	q := regexp.QuoteMeta
	at := scr.waitFor(t, "banner", 0, regexp.MustCompile(`Connected to `+q(url)+`\..*\r\n.*Ctrl-D leaves\.\r\n> $`))

	// A call, with its result pretty-printed; the terminal is raw, so the
	// console itself turns newlines into CR LF.
	typeKeys("admin_nodeInfo\r")
	at = scr.waitFor(t, "admin_nodeInfo result", at, regexp.MustCompile(`\{\r\n  "id": "`+n.Server().Self().ID().String()+`",\r\n(.|\r\n)*"enode": "`+q(n.Server().Self().URLv4())+`"(.|\r\n)*\}\r\n> $`))

	// Tab completes the common prefix of admin_peers and admin_peerEvents,
	// a second Tab lists both, and the line is still there to finish.
	typeKeys("admin_pe\t")
	at = scr.waitFor(t, "completion to the common prefix", at, regexp.MustCompile(`admin_peer$`))
	typeKeys("\t")
	at = scr.waitFor(t, "candidates", at, regexp.MustCompile(`admin_peerEvents  admin_peers\r\n> admin_peer$`))
	typeKeys("s\r")
	at = scr.waitFor(t, "admin_peers result", at, regexp.MustCompile(`^s\r\n\[\]\r\n> $`))

	// A unique prefix completes to the whole name.
	typeKeys("admin_da\t")
	at = scr.waitFor(t, "completion of a unique prefix", at, regexp.MustCompile(`admin_datadir$`))
	typeKeys("\r")
	at = scr.waitFor(t, "admin_datadir result", at, regexp.MustCompile(`\r\n""\r\n> $`))

	// Up arrow recalls the history, newest first. (A shorter line than the
	// one shown is padded with blanks and the cursor moved back.)
	recalled := func(line string) *regexp.Regexp {
		return regexp.MustCompile(q(line) + ` *(\x1b\[\d+D)?$`)
	}
	typeKeys("\x1b[A")
	at = scr.waitFor(t, "history 1", at, recalled("admin_datadir"))
	typeKeys("\x1b[A")
	at = scr.waitFor(t, "history 2", at, recalled("admin_peers"))
	typeKeys("\x1b[A")
	at = scr.waitFor(t, "history 3", at, recalled("admin_nodeInfo"))
	typeKeys("\r")
	at = scr.waitFor(t, "recalled admin_nodeInfo result", at, regexp.MustCompile(`"enode": "`+q(n.Server().Self().URLv4())+`"(.|\r\n)*\}\r\n> $`))

	// A narrower window (SIGWINCH, which the kernel sends the terminal's
	// foreground process, sent here by the test, which has no controlling
	// terminal) wraps a long line at the new width.
	if cols > 0 {
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: 20, Row: rows}); err != nil {
			t.Fatal(err)
		}
		mark := len(scr.String())
		unix.Kill(unix.Getpid(), unix.SIGWINCH)
		// The console repaints its prompt at the new width: that shows it
		// has taken the signal.
		at = scr.waitFor(t, "repaint after resize", mark, regexp.MustCompile(`> $`))
		typeKeys(strings.Repeat("x", 25))
		at = scr.waitFor(t, "line wrapped at 20 columns", at, regexp.MustCompile(`^x{18}\r\nx{7}$`))
		typeKeys("\r")
		at = scr.waitFor(t, "the long line's error", at, regexp.MustCompile(`error: x{25}: rpc error -32601`))
	}

	// Errors are shown and the console goes on.
	typeKeys("admin_nope\r")
	at = scr.waitFor(t, "error", at, regexp.MustCompile(`error: admin_nope: rpc error -32601: .*\r\n> $`))

	// admin_peerEvents subscribes; events arrive while the prompt waits.
	typeKeys("admin_peerEvents\r")
	at = scr.waitFor(t, "subscription ID", at, regexp.MustCompile(`"0x[0-9a-f]+"\r\n> $`))
	c, err := rpc.Dial(context.Background(), "http://"+n.Endpoints().HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Call(context.Background(), nil, "admin_addPeer", peer.Server().Self().URLv4()); err != nil {
		t.Fatal(err)
	}
	at = scr.waitFor(t, "peer event", at, regexp.MustCompile(`\{"subscription":"0x[0-9a-f]+","result":\{"type":"add","peer":"`+peer.Server().Self().ID().String()+`"`))
	// The prompt comes back after the notification.
	at = scr.waitFor(t, "prompt after the event", at, regexp.MustCompile(`\r\n> $`))

	// Ctrl-D on an empty line leaves, and the terminal is as it was.
	typeKeys("\x04")
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit status %d:\n%q", code, scr.String()[at:])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-D did not end the console")
	}
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal modes not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	slave.Close()
	master.Close()
	<-scr.done
}
