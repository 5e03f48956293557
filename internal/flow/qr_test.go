package flow

import (
	"strings"
	"testing"
	"unicode/utf8"

	"rsc.io/qr"
)

// TestDrawQRRoundTrip reads the drawing back, half block by half block, and
// compares every module (and the light margin) with the code.
func TestDrawQRRoundTrip(t *testing.T) {
	const text = "http://127.0.0.1:43210/device?user_code=BCDF-GHJK"
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	drawn := drawQR(code)
	lines := strings.Split(strings.TrimSuffix(drawn, "\n"), "\n")
	side := code.Size + 2*qrQuiet
	if want := (side + 1) / 2; len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	for i, line := range lines {
		body, ok := strings.CutPrefix(line, "\033[30;107m")
		body, ok2 := strings.CutSuffix(body, "\033[0m")
		if !ok || !ok2 {
			t.Fatalf("line %d lacks its colours: %q", i, line)
		}
		if n := utf8.RuneCountInString(body); n != side {
			t.Fatalf("line %d is %d columns, want %d", i, n, side)
		}
		y := 2*i - qrQuiet
		for j, r := range []rune(body) {
			x := j - qrQuiet
			top := r == '█' || r == '▀'
			bottom := r == '█' || r == '▄'
			if top != code.Black(x, y) || bottom != code.Black(x, y+1) {
				t.Fatalf("module (%d,%d) drawn as %q", x, y, r)
			}
		}
	}
	// The three finder patterns make the corners dark.
	for _, c := range [][2]int{{0, 0}, {code.Size - 1, 0}, {0, code.Size - 1}} {
		if !code.Black(c[0], c[1]) {
			t.Errorf("corner %v is light: not a QR code", c)
		}
	}
}

func TestRenderQRFits(t *testing.T) {
	const text = "https://idp.example/device?user_code=WDJB-MJHT"
	code, err := qr.Encode(text, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	need := code.Size + 2*qrQuiet
	for _, tt := range []struct {
		width int
		want  bool
	}{{0, false}, {need - 1, false}, {need, true}, {200, true}} {
		if _, ok := renderQR(text, tt.width); ok != tt.want {
			t.Errorf("width %d (need %d): shown = %t", tt.width, need, ok)
		}
	}
	if _, ok := renderQR(strings.Repeat("x", 4000), 1000); ok {
		t.Error("text too long for any QR version was rendered")
	}
}
