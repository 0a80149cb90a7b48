package web

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/search"
)

// The tags package pipeline writes (see its doc): the UI reads them as any
// MLflow client would, leniently, so that a tag it cannot parse is shown
// as it is rather than failing the page.
const (
	tagPipeline    = "yolops.pipeline"
	tagDAGPrefix   = "yolops.dag."
	tagSummary     = "yolops.summary"
	tagPipelineRun = "yolops.pipeline_run"
	tagStep        = "yolops.step"
	tagStepVersion = "yolops.step_version"
	tagCacheKey    = "yolops.cache_key"
	tagCached      = "yolops.cached"
	tagCachedFrom  = "yolops.cached_from"
	tagError       = "yolops.error"
	tagInputPrefix = "yolops.input."
	tagOutPrefix   = "yolops.output."
	tagReportURI   = "yolops.report_uri"
)

// stepOutput is the value of a yolops.output.<name> tag.
type stepOutput struct {
	Kind string `json:"kind"`
	Hash string `json:"hash"`
	URI  string `json:"uri"`
	Size int64  `json:"size"`
}

// stepInput is the value of a yolops.input.<name> tag.
type stepInput struct {
	Step   string `json:"step"`
	RunID  string `json:"run_id"`
	Output string `json:"output"`
	Source string `json:"source"`
	Kind   string `json:"kind"`
	Hash   string `json:"hash"`
}

// ioRow is an input or output of a step, as the page lists it.
type ioRow struct {
	Name    string
	Kind    string
	Hash    string
	Size    int64
	From    string // "step.output" or a source path
	FromRun string // the producing step run
	Link    string // where to see the artifact, "" if it is not served
	URI     string
	Raw     string // the tag's value when it does not parse
}

// stepView is what a step run's page shows about the step.
type stepView struct {
	Name           string
	Version        string
	CacheKey       string
	Cached         bool
	CachedFrom     string
	CachedFromName string
	Error          string
	Pipeline       *tracking.Run
	Inputs         []ioRow
	Outputs        []ioRow
}

// dagView is a pipeline run's DAG, laid out for SVG.
type dagView struct {
	Name          string
	Summary       string
	Nodes         []*dagNode
	Edges         []dagEdge
	Width, Height int
	Executed      int
	Cached        int
}

type dagNode struct {
	Name     string
	Run      *tracking.Run // nil: the step has no run (not reached)
	Status   string        // executed, cached, failed, running, not run
	Detail   string
	Outputs  []ioRow
	Upstream []string
	X, Y     int
	layer    int
}

type dagEdge struct {
	Path string // SVG path data
}

// Layout of DAG nodes, in SVG user units.
const (
	nodeW, nodeH = 190, 56
	gapX, gapY   = 70, 22
	dagPad       = 12
	arcBand      = 40 // room above the nodes for edges that skip a layer
)

// dag reads a pipeline run's steps and lays them out in layers, left to
// right, each step right of everything upstream of it.
func (u *UI) dag(ctx context.Context, run *tracking.Run) (*dagView, error) {
	d := &dagView{Name: tagValue(run.Data.Tags, tagPipeline), Summary: tagValue(run.Data.Tags, tagSummary)}
	steps, err := u.stepRuns(ctx, run)
	if err != nil {
		return nil, err
	}
	byName := map[string]*dagNode{}
	node := func(name string) *dagNode {
		if n := byName[name]; n != nil {
			return n
		}
		n := &dagNode{Name: name, Status: "not run", Detail: "not run"}
		byName[name] = n
		d.Nodes = append(d.Nodes, n)
		return n
	}
	for _, t := range run.Data.Tags {
		if name, ok := strings.CutPrefix(t.Key, tagDAGPrefix); ok {
			n := node(name)
			var up []string
			if json.Unmarshal([]byte(t.Value), &up) != nil {
				up = strings.FieldsFunc(t.Value, func(r rune) bool { return r == ',' || r == ' ' })
			}
			n.Upstream = up
		}
	}
	for i := range steps {
		s := &steps[i]
		n := node(tagValue(s.Data.Tags, tagStep))
		if n.Run != nil {
			continue // an older attempt: the newest comes first
		}
		n.Run = s
		n.Status, n.Detail = stepStatus(s)
		n.Outputs = u.stepOutputs(ctx, s)
		if n.Upstream == nil {
			// No DAG tag: take the edges from the inputs.
			for _, in := range stepInputs(s) {
				if in.From != "" && in.FromRun != "" {
					up, _, _ := strings.Cut(in.From, ".")
					if !slices.Contains(n.Upstream, up) {
						n.Upstream = append(n.Upstream, up)
					}
				}
			}
		}
		switch n.Status {
		case "cached":
			d.Cached++
		case "executed":
			d.Executed++
		}
	}
	for _, n := range d.Nodes {
		for _, up := range n.Upstream {
			node(up)
		}
	}
	layoutDAG(d, byName)
	return d, nil
}

// stepRuns returns a pipeline run's step runs, newest first.
func (u *UI) stepRuns(ctx context.Context, run *tracking.Run) ([]tracking.Run, error) {
	runs, _, err := u.store.SearchRuns(ctx, tracking.SearchRuns{
		ExperimentIDs: []string{run.Info.ExperimentID},
		Filter:        "tags.`" + tracking.TagParentRunID + "` = " + quote(run.Info.RunID),
		MaxResults:    1000,
	})
	return runs, err
}

func stepStatus(s *tracking.Run) (status, detail string) {
	switch {
	case s.Info.Status == tracking.RunFailed || s.Info.Status == tracking.RunKilled:
		return "failed", strings.ToLower(string(s.Info.Status))
	case s.Info.Status == tracking.RunRunning || s.Info.Status == tracking.RunScheduled:
		return "running", "running"
	case tagValue(s.Data.Tags, tagCached) == "true":
		return "cached", "cached"
	}
	return "executed", "executed · " + duration(s.Info.StartTime, s.Info.EndTime)
}

func layoutDAG(d *dagView, byName map[string]*dagNode) {
	// Layer = the longest path from a source; a cycle (bad tags) is cut
	// by the visiting mark.
	state := map[*dagNode]int{} // 1 visiting, 2 done
	var layer func(n *dagNode) int
	layer = func(n *dagNode) int {
		switch state[n] {
		case 1:
			return 0
		case 2:
			return n.layer
		}
		state[n] = 1
		l := 0
		for _, up := range n.Upstream {
			if un := byName[up]; un != nil {
				l = max(l, layer(un)+1)
			}
		}
		n.layer, state[n] = l, 2
		return l
	}
	slices.SortFunc(d.Nodes, func(a, b *dagNode) int { return strings.Compare(a.Name, b.Name) })
	var layers [][]*dagNode
	for _, n := range d.Nodes {
		l := layer(n)
		for len(layers) <= l {
			layers = append(layers, nil)
		}
		layers[l] = append(layers[l], n)
	}
	// Within a layer, order by the mean row of the upstream nodes, so
	// that edges cross less.
	row := map[*dagNode]float64{}
	for li, ns := range layers {
		if li > 0 {
			key := func(n *dagNode) float64 {
				sum, k := 0.0, 0
				for _, up := range n.Upstream {
					if un := byName[up]; un != nil {
						sum += row[un]
						k++
					}
				}
				if k == 0 {
					return 0
				}
				return sum / float64(k)
			}
			slices.SortStableFunc(ns, func(a, b *dagNode) int { return cmp.Compare(key(a), key(b)) })
		}
		for i, n := range ns {
			row[n] = float64(i)
		}
	}
	// An edge that skips a layer would run behind the nodes between:
	// it arcs above them, in a band kept free at the top.
	arc := 0
	for _, n := range d.Nodes {
		for _, up := range n.Upstream {
			if un := byName[up]; un != nil && n.layer-un.layer > 1 {
				arc = arcBand
			}
		}
	}
	maxRows := 0
	for _, ns := range layers {
		maxRows = max(maxRows, len(ns))
	}
	d.Height = 2*dagPad + arc + maxRows*nodeH + max(maxRows-1, 0)*gapY
	d.Width = 2*dagPad + len(layers)*nodeW + max(len(layers)-1, 0)*gapX
	for li, ns := range layers {
		// Centre each layer vertically.
		h := len(ns)*nodeH + max(len(ns)-1, 0)*gapY
		top := arc + (d.Height-arc-h)/2
		for i, n := range ns {
			n.X = dagPad + li*(nodeW+gapX)
			n.Y = top + i*(nodeH+gapY)
		}
	}
	d.Nodes = d.Nodes[:0]
	for _, ns := range layers {
		d.Nodes = append(d.Nodes, ns...)
	}
	for _, n := range d.Nodes {
		for _, up := range n.Upstream {
			un := byName[up]
			if un == nil {
				continue
			}
			if n.layer-un.layer > 1 {
				// From the top of the upstream node, over the layers
				// between, down onto the top of this one.
				x1, y1 := un.X+nodeW*3/4, un.Y
				x2, y2 := n.X+nodeW/4, n.Y-4
				top := min(un.Y, n.Y) - arc + 6
				d.Edges = append(d.Edges, dagEdge{Path: fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", x1, y1, x1+20, top, x2-20, top, x2, y2)})
				continue
			}
			x1, y1 := un.X+nodeW, un.Y+nodeH/2
			x2, y2 := n.X-6, n.Y+nodeH/2 // leave room for the arrow head
			dx := (x2 - x1) / 2
			d.Edges = append(d.Edges, dagEdge{Path: fmt.Sprintf("M%d %d C%d %d, %d %d, %d %d", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)})
		}
	}
}

// stepView reads what a step run's tags say about the step.
func (u *UI) stepView(ctx context.Context, run *tracking.Run) *stepView {
	s := &stepView{
		Name:       tagValue(run.Data.Tags, tagStep),
		Version:    tagValue(run.Data.Tags, tagStepVersion),
		CacheKey:   tagValue(run.Data.Tags, tagCacheKey),
		Cached:     tagValue(run.Data.Tags, tagCached) == "true",
		CachedFrom: tagValue(run.Data.Tags, tagCachedFrom),
		Error:      tagValue(run.Data.Tags, tagError),
	}
	pid := tagValue(run.Data.Tags, tagPipelineRun)
	if pid == "" {
		pid = tagValue(run.Data.Tags, tracking.TagParentRunID)
	}
	if pid != "" {
		if pr, err := u.store.GetRun(ctx, pid); err == nil {
			s.Pipeline = pr
		}
	}
	if s.CachedFrom != "" {
		if cr, err := u.store.GetRun(ctx, s.CachedFrom); err == nil {
			s.CachedFromName = runName(cr)
		}
	}
	s.Inputs = stepInputs(run)
	s.Outputs = u.stepOutputs(ctx, run)
	return s
}

func stepInputs(run *tracking.Run) []ioRow {
	var rows []ioRow
	for _, t := range run.Data.Tags {
		name, ok := strings.CutPrefix(t.Key, tagInputPrefix)
		if !ok {
			continue
		}
		row := ioRow{Name: name}
		var in stepInput
		if json.Unmarshal([]byte(t.Value), &in) != nil {
			row.Raw = t.Value
		} else {
			row.Kind, row.Hash = in.Kind, in.Hash
			if in.Source != "" {
				row.From = in.Source
			} else {
				row.From, row.FromRun = in.Step+"."+in.Output, in.RunID
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// stepOutputs lists a step run's outputs, each with a link to its files:
// in the run that stored them (the cached-from run for a cached step).
func (u *UI) stepOutputs(ctx context.Context, run *tracking.Run) []ioRow {
	var rows []ioRow
	owners := []*tracking.Run{run}
	if from := tagValue(run.Data.Tags, tagCachedFrom); from != "" {
		if fr, err := u.store.GetRun(ctx, from); err == nil {
			owners = append(owners, fr)
		}
	}
	for _, t := range run.Data.Tags {
		name, ok := strings.CutPrefix(t.Key, tagOutPrefix)
		if !ok {
			continue
		}
		row := ioRow{Name: name}
		var out stepOutput
		if json.Unmarshal([]byte(t.Value), &out) != nil || out.URI == "" {
			row.Raw = t.Value
			rows = append(rows, row)
			continue
		}
		row.Kind, row.Hash, row.Size, row.URI = out.Kind, out.Hash, out.Size, out.URI
		row.Link = u.artifactLink(owners, out.URI)
		rows = append(rows, row)
	}
	return rows
}

// artifactLink returns the page that shows the artifact at uri: the
// preview in the run that holds it, or the raw object if it is served but
// in no run's folder; "" if it is not served.
func (u *UI) artifactLink(owners []*tracking.Run, uri string) string {
	for _, o := range owners {
		base := strings.TrimSuffix(o.Info.ArtifactURI, "/")
		if rel, ok := strings.CutPrefix(uri, base+"/"); ok && checkRel(rel) == nil {
			return "/runs/" + o.Info.RunID + "?artifact=" + url.QueryEscape(rel) + "#artifacts"
		}
	}
	if _, key, err := u.resolve(uri); err == nil && key != "" {
		return "/artifact?uri=" + url.QueryEscape(uri)
	}
	return ""
}

// pipelinesPage lists pipeline runs across experiments.
type pipelinesPage struct {
	Rows        []pipelineRow
	Next, Prev  string
	First       int
	Experiments map[string]string
}

type pipelineRow struct {
	Run      *tracking.Run
	Name     string
	Pipeline string
	Summary  string
}

func (u *UI) pipelines(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	exps, err := u.allExperiments(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	p := pipelinesPage{Experiments: map[string]string{}}
	var ids []string
	for _, e := range exps {
		ids = append(ids, e.ExperimentID)
		p.Experiments[e.ExperimentID] = e.Name
	}
	q := r.URL.Query()
	offset, err := search.DecodePageToken(q.Get("page"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	const n = 100
	req := tracking.SearchRuns{ExperimentIDs: ids, Filter: "tags.`" + tagPipeline + "` LIKE '%'", MaxResults: n}
	if offset > 0 {
		req.PageToken = search.EncodePageToken(offset)
	}
	runs, next, err := u.store.SearchRuns(ctx, req)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for i := range runs {
		run := &runs[i]
		p.Rows = append(p.Rows, pipelineRow{Run: run, Name: runName(run),
			Pipeline: tagValue(run.Data.Tags, tagPipeline), Summary: tagValue(run.Data.Tags, tagSummary)})
	}
	p.First = offset + 1
	if next != "" {
		p.Next = "/pipelines?page=" + url.QueryEscape(next)
	}
	if offset > 0 {
		p.Prev = "/pipelines"
		if offset > n {
			p.Prev += "?page=" + url.QueryEscape(search.EncodePageToken(offset-n))
		}
	}
	u.render(w, r, "pipelines", page{Title: "Pipelines", Nav: "pipelines", Data: p})
}
