package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// progress is a tqdm-style bar as Ultralytics' TQDM draws it (bar format
// "{l_bar}{bar:10}{r_bar}"):
//
//	1/3         0G      3.397      5.003      4.239         33        320: 100%|██████████| 4/4 [00:05<00:00,  1.31s/it]
//
// On a terminal the line is redrawn in place at most ten times a second;
// elsewhere (a file, a pipe, or CI=true) it is written as a whole line
// when the loop ends and at most every 30 seconds before, so that logs
// hold no carriage returns.
type progress struct {
	w      io.Writer
	tty    bool
	total  int
	n      int
	desc   string
	start  time.Time
	drawn  time.Time // last draw
	closed bool
}

// isTerminal reports whether w is a terminal that progress may redraw.
func isTerminal(w io.Writer) bool {
	if os.Getenv("CI") == "true" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, total int, desc string) *progress {
	if w == nil {
		w = io.Discard
	}
	now := time.Now()
	p := &progress{w: w, tty: isTerminal(w), total: total, desc: desc, start: now, drawn: now}
	if p.tty {
		p.draw(now)
	}
	return p
}

// update records n iterations done, with a new description.
func (p *progress) update(n int, desc string) {
	p.n, p.desc = n, desc
	now := time.Now()
	interval := 30 * time.Second
	if p.tty {
		interval = 100 * time.Millisecond
	}
	if now.Sub(p.drawn) >= interval || (p.tty && n == p.total) {
		p.draw(now)
	}
}

// close writes the final state and ends the line.
func (p *progress) close() {
	if p.closed {
		return
	}
	p.closed = true
	p.draw(time.Now())
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(now time.Time) {
	p.drawn = now
	line := p.line(now.Sub(p.start))
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// line formats the bar: description, percentage, ten-cell bar, count,
// elapsed and remaining time, and rate.
func (p *progress) line(elapsed time.Duration) string {
	frac := 0.0
	if p.total > 0 {
		frac = float64(p.n) / float64(p.total)
	}
	var b strings.Builder
	if p.desc != "" {
		b.WriteString(p.desc)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%3.0f%%|%s| %d/%d [%s<%s, %s]", frac*100, bar(frac, 10), p.n, p.total,
		clock(elapsed), p.remaining(elapsed), rate(p.n, elapsed))
	return b.String()
}

func (p *progress) remaining(elapsed time.Duration) string {
	if p.n == 0 {
		return "?"
	}
	left := time.Duration(float64(elapsed) / float64(p.n) * float64(p.total-p.n))
	return clock(left)
}

// bar draws frac of width cells with eighth-block precision, as tqdm.
func bar(frac float64, width int) string {
	frac = math.Min(math.Max(frac, 0), 1)
	eighths := int(frac * float64(width) * 8)
	full, part := eighths/8, eighths%8
	s := strings.Repeat("█", full)
	if full < width {
		if part > 0 {
			s += string([]rune("▏▎▍▌▋▊▉")[part-1])
		} else {
			s += " "
		}
		s += strings.Repeat(" ", width-full-1)
	}
	return s
}

// clock formats a duration as tqdm does: mm:ss, or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// rate is tqdm's rate: iterations per second, or seconds per iteration
// when slower than one a second.
func rate(n int, elapsed time.Duration) string {
	if n == 0 || elapsed <= 0 {
		return "?it/s"
	}
	r := float64(n) / elapsed.Seconds()
	if r < 1 {
		return fmt.Sprintf("%5.2fs/it", 1/r)
	}
	return fmt.Sprintf("%5.2fit/s", r)
}
