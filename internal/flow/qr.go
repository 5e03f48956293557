package flow

import (
	"strings"

	"rsc.io/qr"
)

// qrQuiet is the light margin around the code, in modules. The standard asks
// for four; two keeps the code small on a terminal and phones still read it
// because the margin is drawn in an explicit light colour.
const qrQuiet = 2

// renderQR draws text as a QR code for a terminal at most width columns
// wide. ok is false when it does not fit or cannot be encoded: the prompt
// then prints the link instead.
func renderQR(text string, width int) (string, bool) {
	if width <= 0 {
		return "", false
	}
	code, err := qr.Encode(text, qr.L)
	if err != nil || code.Size+2*qrQuiet > width {
		return "", false
	}
	return drawQR(code), true
}

// drawQR packs two rows of modules into each line with Unicode half blocks.
// Dark modules are drawn in black on a bright white background, set
// explicitly, so the code scans the same in dark and light terminal themes.
func drawQR(c *qr.Code) string {
	var b strings.Builder
	for y := -qrQuiet; y < c.Size+qrQuiet; y += 2 {
		b.WriteString("\033[30;107m")
		for x := -qrQuiet; x < c.Size+qrQuiet; x++ {
			top, bottom := c.Black(x, y), c.Black(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteString("\033[0m\n")
	}
	return b.String()
}
