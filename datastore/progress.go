package datastore

// Progress receives the progress of long operations (hashing, copying
// into the cache, transfers), for a progress bar or log lines. Add is
// called from several goroutines at once.
type Progress interface {
	// Start begins a task over files files of bytes bytes in all.
	Start(task string, files int, bytes int64)
	// Add reports files more files, of bytes bytes, done.
	Add(files int, bytes int64)
	// Done ends the task.
	Done()
}

type noProgress struct{}

func (noProgress) Start(string, int, int64) {}
func (noProgress) Add(int, int64)           {}
func (noProgress) Done()                    {}
