package tinkex

// ForwardBackwardOption adjusts one Forward, ForwardBackward or
// ForwardBackwardCustom call.
type ForwardBackwardOption func(*forwardBackwardOptions)

type forwardBackwardOptions struct {
	lossFnConfig map[string]float64
	// signedWeights lets weights be negative; set by ForwardBackwardCustom
	// for its linear loss only.
	signedWeights bool
}

// WithLossFnConfig sets the loss function's config, e.g.
// {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2} for LossPPO.
// Values must be finite (checked before sending). The map is copied.
func WithLossFnConfig(cfg map[string]float64) ForwardBackwardOption {
	return func(o *forwardBackwardOptions) {
		if cfg == nil {
			o.lossFnConfig = nil
			return
		}
		o.lossFnConfig = make(map[string]float64, len(cfg))
		for k, v := range cfg {
			o.lossFnConfig[k] = v
		}
	}
}

func forwardBackwardOpts(opts []ForwardBackwardOption) forwardBackwardOptions {
	var o forwardBackwardOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}
