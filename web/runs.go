package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
	"github.com/yolops/yolops/tracking/search"
)

// experimentsPage lists the active experiments.
type experimentsPage struct {
	Experiments  []tracking.Experiment
	Descriptions map[string]string
}

func (u *UI) experiments(w http.ResponseWriter, r *http.Request) {
	exps, err := u.allExperiments(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	desc := map[string]string{}
	for _, e := range exps {
		if d := tagValue(e.Tags, "mlflow.note.content"); d != "" {
			desc[e.ExperimentID] = d
		}
	}
	u.render(w, r, "experiments", page{Title: "Experiments", Nav: "experiments", Data: experimentsPage{exps, desc}})
}

// allExperiments returns the active experiments, newest first. A UI list
// of over 50,000 experiments is not useful; past that it stops.
func (u *UI) allExperiments(r *http.Request) ([]tracking.Experiment, error) {
	var all []tracking.Experiment
	token := ""
	for {
		exps, next, err := u.store.SearchExperiments(r.Context(), tracking.SearchExperiments{
			MaxResults: 1000, PageToken: token, OrderBy: []string{"last_update_time DESC"},
		})
		if err != nil {
			return nil, err
		}
		all = append(all, exps...)
		if next == "" || len(all) >= 50000 {
			return all, nil
		}
		token = next
	}
}

func tagValue(tags []tracking.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// column is a run-table column for a param, a latest metric or a tag.
type column struct {
	Entity string // "params", "metrics" or "tags": the filter grammar's prefixes
	Key    string
}

// ID is how the column is named in the URL (c=metrics.metrics/mAP50B).
func (c column) ID() string { return c.Entity + "." + c.Key }

// Expr is the column as the filter and order_by grammar writes it; keys
// are always quoted, as they may hold "-", "/" or spaces.
func (c column) Expr() string { return c.Entity + ".`" + c.Key + "`" }

// Label is the column's header: the key, with its entity where the key
// alone would be ambiguous (the template shows the entity as a hint).
func (c column) Label() string { return c.Key }

func parseColumn(id string) (column, bool) {
	entity, key, ok := strings.Cut(id, ".")
	if !ok || key == "" || strings.ContainsAny(key, "`\n") {
		return column{}, false
	}
	switch entity {
	case "params", "metrics", "tags":
		return column{entity, key}, true
	}
	return column{}, false
}

// value returns a run's value for the column, and whether it has one.
func (c column) value(run *tracking.Run) (string, float64, bool) {
	switch c.Entity {
	case "params":
		for _, p := range run.Data.Params {
			if p.Key == c.Key {
				return p.Value, 0, true
			}
		}
	case "metrics":
		for _, m := range run.Data.Metrics {
			if m.Key == c.Key {
				return formatNumber(m.Value), m.Value, true
			}
		}
	case "tags":
		for _, t := range run.Data.Tags {
			if t.Key == c.Key {
				return t.Value, 0, true
			}
		}
	}
	return "", 0, false
}

// Page sizes the runs table offers; MLflow's UI loads 100 at a time.
var pageSizes = []int{25, 50, 100, 250, 1000}

const defaultPageSize = 100

// runsPage is the data of the runs table.
type runsPage struct {
	Experiment tracking.Experiment
	Filter     string
	Order      string
	Sorted     column // the column the table is sorted by, if any
	SortedAttr string // or the attribute
	Ascending  bool
	PageSize   int
	PageSizes  []int
	First      int // 1-based number of the first run shown
	Last       int
	SizeLinks  []sizeLink
	ClearURL   string // without the filter
	// DefaultColsURL is the table with the default columns.
	DefaultColsURL string
	Columns        []column
	Headers        []header
	Rows           []runRow
	Next, Prev     string // URLs, "" when there is none
	Error          string // a bad filter or order, as the store explains it
	Warnings       []string
	Chooser        []chooserGroup
	Default        bool              // the columns are the default choice
	AttrSort       map[string]string // sort links of the name, created and status headers
	Query          url.Values
}

// header is a column header with the link that sorts by it.
type header struct {
	Col       column
	SortURL   string
	Sorted    bool
	Ascending bool
	Numeric   bool
}

type sizeLink struct {
	N   int
	URL string
	On  bool
}

type runRow struct {
	Run      *tracking.Run
	Name     string
	Cells    []cell
	Pipeline string // yolops.pipeline: the run is a pipeline run
	Step     string // yolops.step: the run is a step run
	Cached   bool
	Parent   string
}

type cell struct {
	Text    string
	Numeric bool
	Missing bool
}

type chooserGroup struct {
	Entity  string
	Title   string
	Options []chooserOption
}

type chooserOption struct {
	Col     column
	Checked bool
	Varies  bool
}

func (u *UI) runsTable(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	exp, err := u.store.GetExperiment(ctx, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	p := runsPage{
		Experiment: *exp,
		Filter:     strings.TrimSpace(q.Get("filter")),
		Order:      strings.TrimSpace(q.Get("order")),
		PageSize:   defaultPageSize,
		PageSizes:  pageSizes,
		Query:      q,
	}
	if n := q.Get("n"); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 || v > 1000 {
			p.Warnings = append(p.Warnings, "Page size n="+strconv.Quote(n)+" is not a number from 1 to 1000; showing "+strconv.Itoa(defaultPageSize)+".")
		} else {
			p.PageSize = v
		}
	}
	offset, err := search.DecodePageToken(q.Get("page"))
	if err != nil {
		p.Warnings = append(p.Warnings, "The page token in the address is not valid ("+err.Error()+"); showing the first page.")
		offset = 0
	}
	var chosen []column
	for _, id := range q["c"] {
		c, ok := parseColumn(id)
		if !ok {
			p.Warnings = append(p.Warnings, "Column "+strconv.Quote(id)+" is not params.<key>, metrics.<key> or tags.<key>; left out.")
			continue
		}
		if !slices.Contains(chosen, c) {
			chosen = append(chosen, c)
		}
	}
	var orderBy []string
	if p.Order != "" {
		orderBy = []string{p.Order}
		if o, err := search.ParseRunOrderBy(p.Order); err == nil {
			p.Ascending = o.Ascending
			switch o.Entity {
			case search.Metric:
				p.Sorted = column{"metrics", o.Key}
			case search.Param:
				p.Sorted = column{"params", o.Key}
			case search.Tag:
				p.Sorted = column{"tags", o.Key}
			case search.Attribute:
				p.SortedAttr = o.Key
			}
		}
	}
	req := tracking.SearchRuns{
		ExperimentIDs: []string{exp.ExperimentID},
		Filter:        p.Filter,
		OrderBy:       orderBy,
		MaxResults:    p.PageSize,
	}
	if offset > 0 {
		req.PageToken = search.EncodePageToken(offset)
	}
	runs, next, err := u.store.SearchRuns(ctx, req)
	status := http.StatusOK
	if err != nil {
		if tracking.CodeOf(err) != tracking.InvalidParameterValue {
			u.fail(w, r, err)
			return
		}
		// A filter the grammar rejects: show the table's frame with the
		// store's explanation, so the user can fix the filter in place.
		p.Error = err.Error()
		status = http.StatusBadRequest
	}
	p.First = offset + 1
	p.Default = len(chosen) == 0
	p.Chooser, p.Columns = chooseColumns(runs, chosen, mentioned(p.Filter, p.Order))
	for _, c := range p.Columns {
		h := header{Col: c, Sorted: c == p.Sorted, Ascending: p.Ascending, Numeric: c.Entity == "metrics"}
		// Metrics sort best-first for scores, params and tags A to Z; a
		// second click reverses.
		asc := c.Entity != "metrics" || strings.Contains(strings.ToLower(c.Key), "loss")
		if h.Sorted {
			asc = !p.Ascending
		}
		h.SortURL = sortURL(q, c.Expr(), asc)
		p.Headers = append(p.Headers, h)
	}
	if p.Order == "" {
		p.SortedAttr, p.Ascending = "start_time", false // the store's default order
	}
	p.AttrSort = map[string]string{}
	for attr, asc := range map[string]bool{"run_name": true, "start_time": false, "status": true} {
		if p.SortedAttr == attr {
			asc = !p.Ascending
		}
		p.AttrSort[attr] = sortURL(q, "attributes."+attr, asc)
	}
	for i := range runs {
		run := &runs[i]
		row := runRow{Run: run, Name: run.Info.RunName}
		if row.Name == "" {
			row.Name = shortID(run.Info.RunID)
		}
		row.Pipeline = tagValue(run.Data.Tags, tagPipeline)
		row.Step = tagValue(run.Data.Tags, tagStep)
		row.Cached = tagValue(run.Data.Tags, tagCached) == "true"
		row.Parent = tagValue(run.Data.Tags, tracking.TagParentRunID)
		for _, c := range p.Columns {
			text, _, ok := c.value(run)
			row.Cells = append(row.Cells, cell{Text: text, Numeric: c.Entity == "metrics", Missing: !ok})
		}
		p.Rows = append(p.Rows, row)
	}
	p.Last = offset + len(p.Rows)
	for _, n := range pageSizes {
		v := cloneValues(q)
		v.Del("page")
		v.Set("n", strconv.Itoa(n))
		if n == defaultPageSize {
			v.Del("n")
		}
		p.SizeLinks = append(p.SizeLinks, sizeLink{N: n, URL: r.URL.Path + "?" + v.Encode(), On: n == p.PageSize})
	}
	v := cloneValues(q)
	v.Del("filter")
	v.Del("page")
	p.ClearURL = r.URL.Path + "?" + v.Encode()
	v = cloneValues(q)
	v.Del("c")
	p.DefaultColsURL = r.URL.Path + "?" + v.Encode()
	if next != "" {
		p.Next = pageURL(r.URL.Path, q, next)
	}
	if offset > 0 {
		prev := ""
		if offset-p.PageSize > 0 {
			prev = search.EncodePageToken(offset - p.PageSize)
		}
		p.Prev = pageURL(r.URL.Path, q, prev)
	}
	u.renderStatus(w, r, status, "runs", page{Title: exp.Name, Nav: "experiments", Data: p})
}

// Default columns: the params that differ between the runs shown (up to
// maxVaryingParams), then the metrics, scores before losses and learning
// rates (up to maxDefaultMetrics). Ultralytics logs ~100 params per run, of
// which a grid varies a handful: those are the ones worth a column.
const (
	maxVaryingParams  = 8
	maxDefaultMetrics = 8
)

// mentioned returns the columns a filter and an order name, which the
// default columns keep: filtering on imgsz = 416 leaves imgsz the same in
// every run shown, but the reader still wants to see it.
func mentioned(filter, order string) []column {
	var cols []column
	add := func(e search.Entity, key string) {
		var c column
		switch e {
		case search.Param:
			c = column{"params", key}
		case search.Metric:
			c = column{"metrics", key}
		case search.Tag:
			c = column{"tags", key}
		default:
			return
		}
		if !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	if clauses, err := search.ParseRunFilter(filter); err == nil {
		for _, c := range clauses {
			add(c.Entity, c.Key)
		}
	}
	if o, err := search.ParseRunOrderBy(order); err == nil && order != "" {
		add(o.Entity, o.Key)
	}
	return cols
}

// chooseColumns returns the column chooser's options (every key seen on
// the page, plus the chosen ones) and the columns to show: the chosen
// ones, or by default the columns the filter and order mention, the params
// that vary and the metrics.
func chooseColumns(runs []tracking.Run, chosen, keep []column) ([]chooserGroup, []column) {
	type keyInfo struct {
		values map[string]bool
		count  int
		// perRun counts the runs whose value holds the run's name (name,
		// save_dir): a column that repeats the Run column.
		perRun int
	}
	seen := map[column]*keyInfo{}
	note := func(c column, v string) {
		k := seen[c]
		if k == nil {
			k = &keyInfo{values: map[string]bool{}}
			seen[c] = k
		}
		k.values[v] = true
		k.count++
	}
	for _, run := range runs {
		for _, p := range run.Data.Params {
			c := column{"params", p.Key}
			note(c, p.Value)
			if run.Info.RunName != "" && strings.Contains(p.Value, run.Info.RunName) {
				seen[c].perRun++
			}
		}
		for _, m := range run.Data.Metrics {
			note(column{"metrics", m.Key}, "")
		}
		for _, t := range run.Data.Tags {
			if !strings.HasPrefix(t.Key, "mlflow.") && !strings.HasPrefix(t.Key, "yolops.") {
				note(column{"tags", t.Key}, t.Value)
			}
		}
	}
	varies := func(c column) bool {
		k := seen[c]
		return k != nil && (len(k.values) > 1 || k.count < len(runs))
	}
	cols := chosen
	if len(chosen) == 0 {
		var params, metrics []column
		for c, k := range seen {
			switch {
			case slices.Contains(keep, c):
			case c.Entity == "params" && varies(c) && k.perRun < k.count:
				params = append(params, c)
			case c.Entity == "metrics":
				metrics = append(metrics, c)
			}
		}
		slices.SortFunc(params, func(a, b column) int { return strings.Compare(a.Key, b.Key) })
		slices.SortFunc(metrics, func(a, b column) int {
			return cmp.Or(cmp.Compare(metricRank(a.Key), metricRank(b.Key)), strings.Compare(a.Key, b.Key))
		})
		var lead, keptMetrics []column
		for _, c := range keep {
			if c.Entity == "metrics" {
				keptMetrics = append(keptMetrics, c)
			} else {
				lead = append(lead, c)
			}
		}
		nParams := min(len(params), max(maxVaryingParams-len(lead), 0))
		nMetrics := min(len(metrics), max(maxDefaultMetrics-len(keptMetrics), 0))
		cols = slices.Concat(lead, params[:nParams], keptMetrics, metrics[:nMetrics])
	}
	groups := []chooserGroup{{Entity: "params", Title: "Params"}, {Entity: "metrics", Title: "Metrics"}, {Entity: "tags", Title: "Tags"}}
	all := map[column]bool{}
	for c := range seen {
		all[c] = true
	}
	for _, c := range cols {
		all[c] = true
	}
	for i := range groups {
		g := &groups[i]
		for c := range all {
			if c.Entity == g.Entity {
				g.Options = append(g.Options, chooserOption{Col: c, Checked: slices.Contains(cols, c), Varies: c.Entity != "metrics" && varies(c)})
			}
		}
		slices.SortFunc(g.Options, func(a, b chooserOption) int {
			if g.Entity == "metrics" {
				if c := cmp.Compare(metricRank(a.Col.Key), metricRank(b.Col.Key)); c != 0 {
					return c
				}
			}
			return strings.Compare(a.Col.Key, b.Col.Key)
		})
	}
	return groups, cols
}

// metricRank orders metric keys as a reader of a YOLO run looks for them:
// scores, validation losses, training losses, then learning rates.
func metricRank(key string) int {
	switch {
	case strings.HasPrefix(key, "metrics/"):
		return 0
	case strings.HasPrefix(key, "val/"):
		return 1
	case strings.HasPrefix(key, "train/"):
		return 2
	case strings.HasPrefix(key, "lr/"):
		return 4
	}
	return 3
}

// sortURL is the current table's address, sorted by expr, from the first
// page.
func sortURL(q url.Values, expr string, ascending bool) string {
	v := cloneValues(q)
	dir := " DESC"
	if ascending {
		dir = " ASC"
	}
	v.Set("order", expr+dir)
	v.Del("page")
	return "?" + v.Encode()
}

func pageURL(path string, q url.Values, token string) string {
	v := cloneValues(q)
	if token == "" {
		v.Del("page")
	} else {
		v.Set("page", token)
	}
	return path + "?" + v.Encode()
}

func cloneValues(q url.Values) url.Values {
	v := url.Values{}
	for k, vs := range q {
		v[k] = slices.Clone(vs)
	}
	return v
}
