package nn

import "fmt"

// Optimizer state, read and restored by parameter, so that a training
// checkpoint can hold it and a resumed training continue exactly where
// it stopped (PyTorch's optimizer.state_dict()/load_state_dict()).

// MomentumBuffer returns SGD's momentum buffer for p (PyTorch's
// momentum_buffer), or nil before p's first update with momentum. The
// slice is the optimizer's own.
func (o *SGD) MomentumBuffer(p *Param) []float32 { return o.buf[p] }

// SetMomentumBuffer gives p a copy of buf as its momentum buffer.
func (o *SGD) SetMomentumBuffer(p *Param, buf []float32) error {
	if len(buf) != len(p.Value.Data) {
		return fmt.Errorf("nn.SGD: momentum buffer of %d values for parameter %s of shape %v", len(buf), p.Name, p.Value.Shape)
	}
	o.buf[p] = append([]float32(nil), buf...)
	return nil
}

// Moments returns Adam's first and second moments for p (PyTorch's
// exp_avg and exp_avg_sq) and the number of updates p has had; nil and 0
// before its first update. The slices are the optimizer's own.
func (o *Adam) Moments(p *Param) (m, v []float32, step int) {
	st := o.state[p]
	if st == nil {
		return nil, nil, 0
	}
	return st.m, st.v, st.t
}

// SetMoments gives p copies of m and v as its moments, and step as its
// number of updates.
func (o *Adam) SetMoments(p *Param, m, v []float32, step int) error {
	n := len(p.Value.Data)
	if len(m) != n || len(v) != n || step < 1 {
		return fmt.Errorf("nn.Adam: moments of %d and %d values after %d steps for parameter %s of shape %v",
			len(m), len(v), step, p.Name, p.Value.Shape)
	}
	o.state[p] = &adamState{m: append([]float32(nil), m...), v: append([]float32(nil), v...), t: step}
	return nil
}
