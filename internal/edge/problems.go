package edge

import (
	"errors"
	"fmt"
	"sort"

	"github.com/edgefront/edgefront/internal/config"
)

// problems collects what compiling a config finds wrong, each at the
// FILE:LINE of the setting, as config.Parse reports what it finds.
type problems struct {
	cfg  *config.Config
	list config.Problems
}

// add records err at the config path of the setting it is about
// ("key_groups.signers[0].public_key_file").
func (p *problems) add(path string, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		p.list = append(p.list, ps...)
		return
	}
	p.list = append(p.list, config.Problem{File: p.cfg.File, Line: p.cfg.Line(path), Msg: err.Error()})
}

func (p *problems) addf(path, format string, args ...any) { p.add(path, fmt.Errorf(format, args...)) }

// err is nil, or every problem in line order.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	return p.list
}
