// Package tracking defines what yolops records about experiments, runs and
// registered models, and the Store that keeps them.
//
// The entities and their rules follow MLflow 2.x (mlflow/protos/service.proto,
// model_registry.proto and the SQLAlchemy stores), so that an MLflow client
// talking to yolops' REST server sees what a real MLflow server would show:
// params are immutable, metrics are appended and a run reports its latest
// value per key, tags are overwritten, deletion is a lifecycle stage, and
// errors carry MLflow's error codes (see Error).
//
// Subpackages: sqlstore implements Store over SQLite and PostgreSQL, search
// parses MLflow's filter and order_by grammar, and storetest is the
// conformance suite every Store passes.
package tracking
