package bank

// QueueStat is the state of one background job's queues, as the worker's
// queue reader reports it and the admin API shows it.
type QueueStat struct {
	Job       string `json:"job"`
	Queued    int64  `json:"queued"`    // waiting to run
	Retrying  int64  `json:"retrying"`  // failed, waiting for a retry
	Scheduled int64  `json:"scheduled"` // to run later
	Dead      int64  `json:"dead"`      // failed for good (in the dead set)
}
