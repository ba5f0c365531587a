package nodedb

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/trellis-p2p/trellis/enode"
)

// The crash test runs a writer in a child process (this test binary,
// re-executed into TestCrashWriterHelper), kills it with SIGKILL while it
// writes, and checks the file: bbolt's own consistency check passes, every
// write the child reported durable is there and intact, and the database
// takes new writes.

const (
	crashEnvPath  = "TRELLIS_NODEDB_CRASH_PATH"
	crashEnvStart = "TRELLIS_NODEDB_CRASH_START"
	// crashAckEvery is how many writes the child makes between flushes.
	crashAckEvery = 40
)

var crashOpts = []Option{WithIdentitySchemes(enode.TestSchemes())}

// crashWrite is write number i of the crash test, computable in both
// processes.
type crashWrite struct {
	node  *enode.Node
	pong  time.Time
	fails int
}

// The records use the "null" identity scheme: signing thousands of v4
// records in both processes, under -race, would dominate the test.
func makeCrashWrite(i uint64) crashWrite {
	return crashWrite{
		node:  nullNode(idFor(i), i%5+1, ipFor(i)),
		pong:  time.UnixMilli(1_700_000_000_000 + int64(i)),
		fails: int(i%100) + 1,
	}
}

func (w crashWrite) apply(db *DB) error {
	if err := db.UpdateNode(w.node); err != nil {
		return err
	}
	if err := db.UpdateLastPongReceived(w.node.ID(), w.node.IPAddr(), w.pong); err != nil {
		return err
	}
	return db.UpdateFindFails(w.node.ID(), w.node.IPAddr(), w.fails)
}

// check compares what db holds for w. If mustExist is false, w may be
// missing (it was not acknowledged) but whatever is present must be right.
func (w crashWrite) check(db *DB, mustExist bool) error {
	id, ip := w.node.ID(), w.node.IPAddr()
	n := db.Node(id)
	switch {
	case n == nil && mustExist:
		return fmt.Errorf("record of %v missing", id.TerminalString())
	case n != nil && n.Seq() != w.node.Seq():
		return fmt.Errorf("record of %v has seq %d, want %d", id.TerminalString(), n.Seq(), w.node.Seq())
	}
	if n != nil {
		a, _ := n.Record().MarshalBinary()
		b, _ := w.node.Record().MarshalBinary()
		if !bytes.Equal(a, b) {
			return fmt.Errorf("record of %v differs", id.TerminalString())
		}
	}
	if pong := db.LastPongReceived(id, ip); !pong.Equal(w.pong) && (mustExist || !pong.IsZero()) {
		return fmt.Errorf("pong of %v = %v, want %v", id.TerminalString(), pong, w.pong)
	}
	if fails := db.FindFails(id, ip); fails != w.fails && (mustExist || fails != 0) {
		return fmt.Errorf("fails of %v = %d, want %d", id.TerminalString(), fails, w.fails)
	}
	return nil
}

// TestCrashWriterHelper is the child process of TestCrashRecovery. It
// writes until killed, printing "wrote N" as it goes and "committed N" once
// the writes before N are durable.
func TestCrashWriterHelper(t *testing.T) {
	path := os.Getenv(crashEnvPath)
	if path == "" {
		t.Skip("child process of TestCrashRecovery")
	}
	start, err := strconv.ParseUint(os.Getenv(crashEnvStart), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, crashOpts...)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := start; ; i++ {
		if err := makeCrashWrite(i).apply(db); err != nil {
			t.Fatal(err)
		}
		if (i+1-start)%crashAckEvery == 0 {
			if err := db.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(out, "committed %d\n", i+1)
		} else if (i+1-start)%8 == 0 {
			fmt.Fprintf(out, "wrote %d\n", i+1)
		}
		out.Flush()
	}
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "nodes.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))

	type span struct{ start, acked, seen uint64 }
	var spans []span
	for round := range 5 {
		start := uint64(round+1) * 1_000_000
		// Kill after a varying number of acknowledgements, then a varying
		// number of further writes, so the kill lands at different points
		// of the write/commit cycle.
		acks, extra := 1+rng.IntN(6), rng.IntN(crashAckEvery/8)
		acked, seen := runCrashChild(t, path, start, acks, extra)
		t.Logf("round %d: killed after %d acknowledged writes (%d reported written)", round, acked-start, seen-start)
		spans = append(spans, span{start, acked, seen})

		checkBoltFile(t, path)
		db, err := Open(path, crashOpts...)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if db.Wiped() {
			t.Fatalf("round %d: database wiped on reopen", round)
		}
		for k, s := range spans {
			beyond := 0
			for i := s.start; i < s.seen+crashAckEvery; i++ {
				w := makeCrashWrite(i)
				if err := w.check(db, i < s.acked); err != nil {
					t.Fatalf("round %d, write %d: %v", round, i, err)
				}
				if i >= s.acked && db.Node(w.node.ID()) != nil {
					beyond++
				}
			}
			if k == round {
				t.Logf("round %d: %d unacknowledged writes made it to disk too", round, beyond)
			}
		}
		// Usable for new writes.
		w := makeCrashWrite(uint64(round))
		if err := w.apply(db); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, err = Open(path, crashOpts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.check(db, true); err != nil {
			t.Fatalf("round %d: write after recovery: %v", round, err)
		}
		db.Close()
	}
}

// runCrashChild starts the writer and SIGKILLs it after it acknowledged
// acks flushes and then reported extra more progress lines. It returns the
// highest acknowledged and the highest reported write number.
func runCrashChild(t *testing.T, path string, start uint64, acks, extra int) (acked, seen uint64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvPath+"="+path, crashEnvStart+"="+strconv.FormatUint(start, 10))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked, seen = start, start
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && (acks > 0 || extra > 0) {
		word, num, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil {
			continue // test framework output
		}
		seen = max(seen, n)
		switch {
		case word == "committed":
			acked = n
			acks--
		case acks <= 0:
			extra--
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acks > 0 {
		t.Fatalf("child stopped before it was killed; stderr:\n%s", stderr.String())
	}
	return acked, seen
}

// checkBoltFile runs bbolt's consistency check on the file.
func checkBoltFile(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true, NoFreelistSync: true})
	if err != nil {
		t.Fatalf("bbolt cannot open the file after the kill: %v", err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
