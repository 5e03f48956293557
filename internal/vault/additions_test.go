package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
)

// frames splits an additions file into its frames.
func frames(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) > 0 {
		n := int(binary.BigEndian.Uint32(data))
		out = append(out, data[:4+n])
		data = data[4+n:]
	}
	return out
}

func listOf(t *testing.T, f *File) []string {
	t.Helper()
	keys, err := f.List("")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestAdditionsAppendToTheIndex: a new key after the first is one frame
// appended to the additions file; the index is not written again, and
// another process lists every key.
func TestAdditionsAppendToTheIndex(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	if err := f.Set("p/0", []byte("v0")); err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(f.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := f.Set(fmt.Sprint("p/", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := os.ReadFile(f.indexPath()); !bytes.Equal(again, index) {
		t.Fatal("a new key rewrote the index")
	}
	adds, err := os.ReadFile(f.additionsPath())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(frames(t, adds)); n != 3 {
		t.Fatalf("%d frames for 3 new keys", n)
	}
	want := []string{"p/0", "p/1", "p/2", "p/3"}
	if got := listOf(t, openFile(t, dir, rawKey(t, 1))); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	// A replace adds nothing.
	if err := f.Set("p/2", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(f.additionsPath()); !bytes.Equal(again, adds) {
		t.Fatal("replacing a value changed the additions")
	}
}

// TestAdditionsTornTail: a frame a crash cut short is dropped, and the
// next new key is written over it, leaving only whole frames.
func TestAdditionsTornTail(t *testing.T) {
	for _, cut := range []int{1, 4, 5, -1} {
		dir := t.TempDir()
		f := openFile(t, dir, rawKey(t, 1))
		for i := range 3 {
			if err := f.Set(fmt.Sprint("p/", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		adds, _ := os.ReadFile(f.additionsPath())
		fr := frames(t, adds)
		if cut < 0 {
			cut += len(fr[1])
		}
		torn := append(bytes.Clone(fr[0]), fr[1][:cut]...)
		if err := os.WriteFile(f.additionsPath(), torn, 0o600); err != nil {
			t.Fatal(err)
		}
		g := openFile(t, dir, rawKey(t, 1))
		if got, want := listOf(t, g), []string{"p/0", "p/1"}; !slices.Equal(got, want) {
			t.Fatalf("cut at %d: List = %q, want %q", cut, got, want)
		}
		if err := g.Set("q", []byte("v")); err != nil {
			t.Fatal(err)
		}
		now, _ := os.ReadFile(g.additionsPath())
		if got := frames(t, now); len(got) != 2 || !bytes.Equal(got[0], fr[0]) {
			t.Fatalf("cut at %d: after a new key the file holds %d frames", cut, len(got))
		}
		if got, want := listOf(t, openFile(t, dir, rawKey(t, 1))), []string{"p/0", "p/1", "q"}; !slices.Equal(got, want) {
			t.Fatalf("cut at %d: List = %q, want %q", cut, got, want)
		}
	}
}

// TestAdditionsBound: a frame opens only at its own offset and after the
// index it was written for, and never under another vault key; damage
// drops names from List but no value from Get, and a wrong key still
// cannot write.
func TestAdditionsBound(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	for i := range 3 {
		if err := f.Set(fmt.Sprint("p/", i), []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	adds, _ := os.ReadFile(f.additionsPath())
	fr := frames(t, adds)

	write := func(data []byte) *File {
		t.Helper()
		if err := os.WriteFile(f.additionsPath(), data, 0o600); err != nil {
			t.Fatal(err)
		}
		return openFile(t, dir, rawKey(t, 1))
	}
	// Swapped: neither opens at the other's offset.
	if got := listOf(t, write(slices.Concat(fr[1], fr[0]))); !slices.Equal(got, []string{"p/0"}) {
		t.Fatalf("swapped frames: List = %q", got)
	}
	// A flipped byte in the first frame drops it and everything after.
	bad := bytes.Clone(adds)
	bad[len(bad)/4] ^= 1
	g := write(bad)
	if got := listOf(t, g); !slices.Equal(got, []string{"p/0"}) {
		t.Fatalf("damaged frame: List = %q", got)
	}
	if v, err := g.Get("p/2"); err != nil || string(v) != "v2" {
		t.Fatalf("Get with damaged additions = %q, %v", v, err)
	}
	if err := openFile(t, dir, rawKey(t, 2)).Set("p/9", []byte("x")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Set under another key: %v, want ErrDecrypt", err)
	}
	write(adds)

	// After the index is written whole, the frames of before do not open.
	if err := f.Delete("p/0"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(f.additionsPath()); err != nil || st.Size() != 0 {
		t.Fatalf("Delete left the additions: %v, %v", st, err)
	}
	if got := listOf(t, write(adds)); !slices.Equal(got, []string{"p/1", "p/2"}) {
		t.Fatalf("frames replayed after the index changed: List = %q", got)
	}
	// The same vault key in another vault (another index): nothing opens.
	other := t.TempDir()
	h := openFile(t, other, rawKey(t, 1))
	if err := h.Set("q/0", nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.additionsPath(), adds, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := listOf(t, h); !slices.Equal(got, []string{"q/0"}) {
		t.Fatalf("another vault's frames: List = %q", got)
	}
}

// TestAdditionsFoldIntoTheIndex: past maxAdditions the next new key writes
// the index whole and empties the additions file.
func TestAdditionsFoldIntoTheIndex(t *testing.T) {
	defer func(n int) { maxAdditions = n }(maxAdditions)
	maxAdditions = 400
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	var want []string
	folds := 0
	for i := range 12 {
		k := fmt.Sprintf("p/%02d", i)
		want = append(want, k)
		before, _ := os.ReadFile(f.indexPath())
		if err := f.Set(k, []byte("v")); err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadFile(f.indexPath())
		adds, _ := os.ReadFile(f.additionsPath())
		if len(adds) > maxAdditions+200 {
			t.Fatalf("additions grew to %d bytes", len(adds))
		}
		if i > 0 && !bytes.Equal(before, after) {
			folds++
			if len(adds) != 0 {
				t.Fatalf("the index was written whole but %d bytes of additions remain", len(adds))
			}
		}
	}
	if folds == 0 {
		t.Fatal("the additions never folded into the index")
	}
	if got := listOf(t, openFile(t, dir, rawKey(t, 1))); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

// TestAdditionsPermissions: an additions file other users can read is
// refused like any vault file.
func TestAdditionsPermissions(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	for i := range 2 {
		if err := f.Set(fmt.Sprint("p/", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(f.additionsPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.List(""); !errors.Is(err, ErrPermissions) {
		t.Fatalf("List: %v, want ErrPermissions", err)
	}
}

// TestAdditionsListedKeyNotAddedAgain: a key the index already lists
// (its record lost, as after a crash between the two) is not appended
// again when it gets a value.
func TestAdditionsListedKeyNotAddedAgain(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	for _, k := range []string{"p/0", "p/1", "p/2"} {
		if err := f.Set(k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"p/0", "p/2"} { // in the index, in the additions
		before, _ := os.ReadFile(f.additionsPath())
		if err := os.Remove(f.recordPath(k)); err != nil {
			t.Fatal(err)
		}
		if err := f.Set(k, []byte("again")); err != nil {
			t.Fatal(err)
		}
		if after, _ := os.ReadFile(f.additionsPath()); !bytes.Equal(before, after) {
			t.Fatalf("%s, listed already, was appended again", k)
		}
		if v, err := f.Get(k); err != nil || string(v) != "again" {
			t.Fatalf("Get(%s) = %q, %v", k, v, err)
		}
	}
}
