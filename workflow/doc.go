// Package workflow is the YOLO person pipeline and the grids that run it:
//
//	data_loader -> trainer -> evaluator -> register
//
// built on package pipeline, so that each step is cached ZenML-style and
// recorded in the tracking store.
//
//   - data_loader builds the dataset of the chosen classes (person) from
//     COCO128 or a data YAML (dataset.Prepare) and versions it: its
//     version is DVC 3's md5 of the folder (datastore.Hash), recorded as
//     the tag yolops.dataset_version and as an MLflow dataset input. It
//     is keyed on the source's content and the classes.
//   - trainer trains with Ultralytics' arguments (train.Run). Its step run
//     is renamed after the point, yolov8n_e3_sz416_lr0.01_s42, and holds
//     what Ultralytics' MLflow callback logs: every argument as a param,
//     each epoch's metrics with step = epoch (metrics/mAP50B,
//     train/box_loss, lr/pg0, ...), and the run folder as artifacts
//     (weights/best.safetensors, results.png, results.csv, args.yaml,
//     curves, confusion matrices, batch images). It is keyed on the
//     dataset's content, every argument that changes what is learnt
//     (not threads, workers or the run's name) and the code version; a
//     checkpoint to fine-tune is an input, keyed on its content.
//   - evaluator validates the best weights (train.RunVal), keyed on the
//     weights' content and the validation arguments, and logs eval/...
//     metrics and its plots in its own step run.
//   - register adds the weights (runs:/<run>/weights/best.safetensors) as
//     a version of the registered model, stage None; promotion is
//     package promote's.
//
// The run that holds a training is the trainer's step run, nested in the
// pipeline run (pipeline_<name>): a rerun of the same point creates a new
// pipeline run whose steps are all cached, and no second run with the
// point's name, so each training is counted once when runs are compared.
//
// Run runs the points of a grid (Grid, ParseGrid), one pipeline run each,
// sequentially or several at once, tolerating failures and interruption:
// finished points are cached, so running the grid again completes only
// what is missing. Result.WriteTable prints the comparison.
package workflow
