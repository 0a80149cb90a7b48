// A real MLflow client, the npm package mlflow (a thin Node.js client of
// MLflow's REST API 2.0), run against yolops server: it creates an
// experiment and a run, logs params, metrics and tags, reads them back and
// checks the values and MLflow's semantics (params immutable, metrics
// appended with the latest shown, tags overwritten, error codes).
//
// Environment: MLFLOW_TRACKING_URI (the server), and for a server with
// authentication MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (an
// EDIT or MANAGE user) and YOLOPS_VIEWER_USERNAME / YOLOPS_VIEWER_PASSWORD
// (a READ user). .ci/mlflow_client.sh sets them.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const MLflow = require('mlflow')
const { ViewType, RunStatus } = require('mlflow/enum')

const endpoint = process.env.MLFLOW_TRACKING_URI
if (!endpoint) {
  throw new Error('MLFLOW_TRACKING_URI is not set')
}

function basic(user, password) {
  return { Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') }
}

const authed = !!process.env.MLFLOW_TRACKING_USERNAME
const headers = authed ? basic(process.env.MLFLOW_TRACKING_USERNAME, process.env.MLFLOW_TRACKING_PASSWORD) : {}
const client = new MLflow({ endpoint, headers })
const { Experiments, Runs, Metrics, Artifacts } = client

// The package throws Error('Error: {"status":..,"statusText":..,"data":..}').
async function failure(promise) {
  try {
    await promise
  } catch (e) {
    return JSON.parse(String(e.message).replace(/^Error: /, ''))
  }
  assert.fail('the call succeeded')
}

// The package logs every request body on stdout; keep the test output readable.
console.log = () => {}

const suffix = `${process.pid}-${Date.now()}`

test('experiment, run, params, metrics, tags round trip', async () => {
  const name = `npm-client-${suffix}`
  const { experiment_id } = await Experiments.create({ name })
  assert.match(experiment_id, /^\d+$/)

  const { experiment } = await Experiments.get({ experiment_id })
  assert.equal(experiment.name, name)
  assert.equal(experiment.lifecycle_stage, 'active')
  assert.equal(experiment.artifact_location, `mlflow-artifacts:/${experiment_id}`)

  // The package lists experiments with MLflow 1.x's experiments/list.
  const { experiments } = await Experiments.list()
  assert.ok(experiments.some((e) => e.experiment_id === experiment_id), 'experiments/list misses the new experiment')

  const start = Date.now()
  const { run } = await Runs.create({
    experiment_id,
    start_time: start,
    tags: [{ key: 'mlflow.runName', value: 'node-run' }],
  })
  const runId = run.info.run_id
  assert.match(runId, /^[0-9a-f]{32}$/)
  assert.equal(run.info.status, 'RUNNING')
  assert.equal(run.info.start_time, start)
  assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${experiment_id}/${runId}/artifacts`)

  await Runs.logParameter({ run_id: runId, key: 'lr0', value: '0.01' })
  await Runs.logParameter({ run_id: runId, key: 'lr0', value: '0.01' }) // the same value again: accepted
  const changed = await failure(Runs.logParameter({ run_id: runId, key: 'lr0', value: '0.02' }))
  assert.equal(changed.status, 400)
  assert.equal(changed.data.error_code, 'INVALID_PARAMETER_VALUE')

  const t0 = Date.now()
  await Runs.logMetric({ run_id: runId, key: 'metrics/mAP50B', value: 0.25, timestamp: t0, step: 0 })
  await Runs.logMetric({ run_id: runId, key: 'metrics/mAP50B', value: 0.5, timestamp: t0 + 1, step: 1 })
  await Runs.logBatch({
    run_id: runId,
    metrics: [
      { key: 'train/box_loss', value: 1.5, timestamp: t0, step: 0 },
      { key: 'train/box_loss', value: 1.25, timestamp: t0 + 1, step: 1 },
      { key: 'metrics/mAP50B', value: 0.125, timestamp: t0 + 2, step: 2 },
    ],
    params: [{ key: 'imgsz', value: '320' }, { key: 'optimizer', value: 'auto' }],
    tags: [{ key: 'stage', value: 'dev' }],
  })
  await Runs.setTag({ run_id: runId, key: 'stage', value: 'candidate' }) // tags overwrite

  const got = (await Runs.get({ run_id: runId })).run
  const params = Object.fromEntries(got.data.params.map((p) => [p.key, p.value]))
  assert.deepEqual(params, { lr0: '0.01', imgsz: '320', optimizer: 'auto' })
  const metrics = Object.fromEntries(got.data.metrics.map((m) => [m.key, m]))
  assert.equal(metrics['metrics/mAP50B'].value, 0.125, 'the latest value (largest step) is shown')
  assert.equal(metrics['metrics/mAP50B'].step, 2)
  assert.equal(metrics['train/box_loss'].value, 1.25)
  const tags = Object.fromEntries(got.data.tags.map((t) => [t.key, t.value]))
  assert.equal(tags.stage, 'candidate')
  assert.equal(tags['mlflow.runName'], 'node-run')

  const history = await Metrics.getHistory({ run_id: runId, metric_key: 'metrics/mAP50B' })
  assert.deepEqual(history.metrics.map((m) => [m.step, m.value]), [[0, 0.25], [1, 0.5], [2, 0.125]])

  const found = await Runs.search({
    experiment_ids: [experiment_id],
    filter: 'metrics."train/box_loss" < 1.3 and params.imgsz = \'320\'',
    run_view_type: ViewType.ACTIVE_ONLY,
    order_by: ['metrics.`metrics/mAP50B` DESC'],
  })
  assert.deepEqual(found.runs.map((r) => r.info.run_id), [runId])
  const none = await Runs.search({ experiment_ids: [experiment_id], filter: 'params.imgsz = \'640\'' })
  assert.equal((none.runs || []).length, 0)

  // An artifact uploaded through the proxied artifact API, listed by the client.
  const put = await fetch(`${endpoint}/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${runId}/artifacts/weights/best.pt`, {
    method: 'PUT',
    headers,
    body: 'not really a checkpoint',
  })
  assert.equal(put.status, 200)
  const listed = await Artifacts.list({ run_id: runId, path: 'weights' })
  assert.equal(listed.root_uri, run.info.artifact_uri)
  assert.deepEqual(listed.files, [{ path: 'weights/best.pt', is_dir: false, file_size: 23 }])

  const end = Date.now()
  const { run_info } = await Runs.update({ run_id: runId, status: RunStatus.FINISHED, end_time: end })
  assert.equal(run_info.status, 'FINISHED')
  assert.equal(run_info.end_time, end)

  await Runs.deleteTag({ run_id: runId, key: 'stage' })
  await Runs.delete({ run_id: runId })
  assert.equal((await Runs.get({ run_id: runId })).run.info.lifecycle_stage, 'deleted')
  await Runs.restore({ run_id: runId })
  assert.equal((await Runs.get({ run_id: runId })).run.info.lifecycle_stage, 'active')
})

test('errors carry MLflow codes', async () => {
  const missing = await failure(Runs.get({ run_id: '0123456789abcdef0123456789abcdef' }))
  assert.equal(missing.status, 404)
  assert.equal(missing.data.error_code, 'RESOURCE_DOES_NOT_EXIST')

  const name = `npm-dup-${suffix}`
  await Experiments.create({ name })
  const dup = await failure(Experiments.create({ name }))
  assert.equal(dup.status, 400)
  assert.equal(dup.data.error_code, 'RESOURCE_ALREADY_EXISTS')
})

test('authentication: anonymous 401, read-only 403', { skip: !authed && 'the server runs without authentication' }, async () => {
  const anonymous = new MLflow({ endpoint })
  const anon = await failure(anonymous.Experiments.list())
  assert.equal(anon.status, 401)
  assert.equal(anon.data.error_code, 'UNAUTHENTICATED')

  const viewer = new MLflow({
    endpoint,
    headers: basic(process.env.YOLOPS_VIEWER_USERNAME, process.env.YOLOPS_VIEWER_PASSWORD),
  })
  const { experiments } = await viewer.Experiments.list()
  assert.ok(experiments.length > 0, 'a READ user lists experiments')
  const denied = await failure(viewer.Experiments.create({ name: `npm-viewer-${suffix}` }))
  assert.equal(denied.status, 403)
  assert.equal(denied.data.error_code, 'PERMISSION_DENIED')

  const wrong = new MLflow({ endpoint, headers: basic(process.env.MLFLOW_TRACKING_USERNAME, 'wrong password') })
  assert.equal((await failure(wrong.Experiments.list())).status, 401)
})
