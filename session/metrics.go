package session

import "github.com/prometheus/client_golang/prometheus"

// Metric collectors; the Caddy module registers them (Collectors) in each
// config's registry.
var (
	opens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "morpheus",
		Name:      "session_opens_total",
		Help:      "Sessions opened on the Morpheus network through the proxy-router, by result (ok, error).",
	}, []string{"result"})
	opensOK    = opens.WithLabelValues("ok")
	opensError = opens.WithLabelValues("error")

	renewals = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "morpheus",
		Name:      "session_renewals_total",
		Help:      "Sessions replaced after the router answered \"session expired\".",
	})

	queueRejections = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "morpheus",
		Name:      "session_queue_rejections_total",
		Help:      "Requests refused with 429 because too many were already waiting on their API key.",
	})
)

// Collectors returns the package's metric collectors.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{opens, renewals, queueRejections}
}
