package cache

import "github.com/prometheus/client_golang/prometheus"

// keyLoads counts reads of API keys from the store: every one is a request
// whose key prefix was not cached (or was invalidated). The Caddy module
// registers it (Collectors) in each config's registry.
var keyLoads = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "morpheus",
	Name:      "key_cache_loads_total",
	Help:      "API key prefixes read from the database because they were not cached.",
})

// Collectors returns the package's metric collectors.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{keyLoads}
}
