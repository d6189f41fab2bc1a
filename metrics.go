package morpheus

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/morpheus-gateway/caddy-morpheus/cache"
	"github.com/morpheus-gateway/caddy-morpheus/session"
)

// Metric collectors. They are package-level (Prometheus collectors are
// meant to be) and registered into each config's registry in Provision.
var (
	storeCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "morpheus",
		Name:      "store_calls_total",
		Help:      "Calls made to the database, by store operation. Requests with a cached API key and session make none.",
	}, []string{"op"})
)

// registerMetrics registers the collectors in reg (nil: metrics are off).
func registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	collectors := []prometheus.Collector{storeCalls}
	collectors = append(collectors, cache.Collectors()...)
	collectors = append(collectors, session.Collectors()...)
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}
