package spec

import (
	"time"
	// The zone database goes into the binary, so that timezone: names resolve the same on
	// every machine, with or without a system zoneinfo.
	_ "time/tzdata"

	"go.yaml.in/yaml/v3"
)

// zone decodes a source's timezone: UTC or an IANA zone name such as Europe/Paris.
func (d *decoder) zone(n *yaml.Node, path string) *time.Location {
	name, ok := d.str(n, path, "a time zone (UTC, or an IANA name such as Europe/Paris)")
	if !ok {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		d.errorf(n, path, "unknown time zone %q: want UTC or an IANA name such as Europe/Paris or America/New_York", name)
		return nil
	}
	return loc
}
