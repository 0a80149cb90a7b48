// Package promote picks the model to promote from an experiment's runs,
// registers it, moves it to a stage and writes the decision down.
//
// The policy, applied to the finished runs of one experiment that logged
// the objective metric:
//
//   - A run's value of a metric is its latest logged value, the one
//     MLflow's run page shows. Ultralytics (and yolops train) validate the
//     best weights (best by fitness, 0.1 mAP50 + 0.9 mAP50-95) once more
//     after the last epoch and log that under the last epoch's step, after
//     the epoch's own value: so the latest value is the metric of the very
//     weights that get registered. The report shows the best epoch's value
//     beside it.
//   - The swept settings are the params whose values differ across those
//     runs, less the seed and the params that name a run rather than
//     configure it (name, save_dir, project, exist_ok, resume). Runs with
//     the same swept settings form a configuration; its seeds are
//     replicates, summarised by their mean and sample standard deviation
//     (n-1).
//   - Configurations are ranked by the mean objective (higher is better),
//     ties broken by the mean of mAP50-95 (mAP50 when the objective is
//     mAP50-95), then by the cheaper one: fewer epochs, then the smaller
//     imgsz.
//   - A --min constraint must hold for the configuration's mean and for
//     the run registered. The first configuration in rank order that meets
//     every constraint wins; its registered run is its best seed (highest
//     objective among its runs that meet the constraints), because those
//     are the weights that measured best; the report gives the
//     configuration's mean beside it, the fairer expectation.
//   - The effect of a swept setting is measured on matched pairs: runs
//     equal in every other swept setting and in seed, one with the
//     setting's baseline value (the smallest) and one with the other; the
//     report gives the mean and spread of the pairwise differences and
//     compares them with the pooled seed standard deviation.
//
// Every number written comes from the tracking store: the report is built
// from what Analyze read, never from values typed into it.
package promote
