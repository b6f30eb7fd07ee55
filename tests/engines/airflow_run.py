"""Loads and runs DAGs on a real Apache Airflow, for tests/airflow.rs.

Usage: python airflow_run.py DAGS_FOLDER [DAG_ID CONF_JSON]...

Run with the Python of the Airflow venv (.ci/run makes it). Everything happens in this one
process, because importing Airflow takes seconds: a throw-away AIRFLOW_HOME in the temporary
directory ($TMPDIR) with a SQLite database made as `airflow db migrate` makes it, no example
DAGs, no network. The DAGs of DAGS_FOLDER are loaded as the DAG processor loads them (DagBag),
then each DAG_ID is run once, in the order given, by `dag.test(run_conf=CONF)` (CONF_JSON is a
JSON object, or `null` for no conf): tasks run in this process, one at a time, without a
scheduler or an executor.

Standard output holds one JSON object and nothing else (Airflow's logs and the tasks' output go
to standard error):

    {"airflow_version": "3.3.2",
     "import_errors": {"FILE": "ERROR TEXT"},
     "dags": {"DAG_ID": {"file": "FILE", "schedule": "0 3 * * *" or null,
                         "tasks": {"TASK DISPLAY NAME": {"queue": "QUEUE"}}}},
     "runs": [{"dag_id": "DAG_ID", "state": "succeeded" or "failed",
               "tasks": {"TASK DISPLAY NAME": "STATE"}}]}

States are in factotum's words, as the export contract maps them: success -> "succeeded",
failed -> "failed", upstream_failed -> "skipped", skipped -> "finished early" when every
upstream task succeeded (the task ran and exited with a finish code), else "skipped". Any other
state is given as "airflow state NAME", so that it shows in a failed comparison rather than
being mistaken for one of factotum's.
"""

import json
import os
import sys
import tempfile

# Standard output is kept for the result alone: Airflow logs to it, and so do the tasks.
result_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w")
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def main(dags_folder, runs):
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        configure(home, dags_folder)
        result = load_and_run(dags_folder, runs)
    json.dump(result, result_stream, indent=1, sort_keys=True)
    result_stream.write("\n")
    result_stream.close()


def configure(home, dags_folder):
    """Points Airflow at `home`, before it is imported (it reads its settings on import)."""
    # A developer's own Airflow settings must not leak into the test.
    for name in [name for name in os.environ if name.startswith("AIRFLOW")]:
        del os.environ[name]
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": os.path.abspath(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
    )


def load_and_run(dags_folder, runs):
    import airflow
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.upgradedb()  # what `airflow db migrate` runs
    bag = DagBag(dags_folder)
    return {
        "airflow_version": airflow.__version__,
        "import_errors": {
            os.path.basename(file): error for file, error in bag.import_errors.items()
        },
        "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
        "runs": [run(bag, dag_id, conf) for dag_id, conf in runs],
    }


def describe(dag):
    schedule = dag.schedule
    return {
        "file": os.path.basename(dag.fileloc),
        "schedule": schedule if schedule is None else str(schedule),
        "tasks": {task.task_display_name: {"queue": task.queue} for task in dag.tasks},
    }


def run(bag, dag_id, conf):
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise SystemExit(f"no DAG {dag_id!r} in the DAGs folder; it has {sorted(bag.dags)}")
    dag_run = dag.test(run_conf=conf)
    states = {
        instance.task_id: state_name(instance.state)
        for instance in dag_run.get_task_instances()
    }
    return {
        "dag_id": dag_id,
        "state": {"success": "succeeded", "failed": "failed"}.get(
            state_name(dag_run.state), f"airflow state {state_name(dag_run.state)}"
        ),
        "tasks": {
            task.task_display_name: factotum_word(task, states) for task in dag.tasks
        },
    }


def state_name(state):
    """An Airflow state enum, or the plain string the database gives back, as a string."""
    return str(getattr(state, "value", state))


def factotum_word(task, states):
    state = states.get(task.task_id, "None")
    if state == "skipped":
        upstream_succeeded = all(states.get(up) == "success" for up in task.upstream_task_ids)
        return "finished early" if upstream_succeeded else "skipped"
    simple = {"success": "succeeded", "failed": "failed", "upstream_failed": "skipped"}
    return simple.get(state, f"airflow state {state}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments or len(arguments) % 2 != 1:
        raise SystemExit(__doc__)
    pairs = zip(arguments[1::2], arguments[2::2])
    main(arguments[0], [(dag_id, json.loads(conf)) for dag_id, conf in pairs])
