"""The test cluster does what the SLURM backend (#13) relies on, with real jobs.

Each test is a fact of slurm 22.05 the backend builds on: sbatch --parsable gives a job id and
the job runs on this machine's filesystem; squeue -o shows a pending job's reason; scancel
--signal reaches a batch script's trap (with --full; plain --signal goes to steps only);
scontrol requeue runs the script again, appending to the same output file. And the cluster
itself: a failed start names the daemon and shows its log, stop() leaves no process behind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.slurm_cluster import SlurmCluster, SlurmClusterError, running_cluster
from tests.slurm_processes import DAEMONS, kill_orphans, marked_pids, program

pytestmark = pytest.mark.slow


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\n" + body)
    return path


def test_a_batch_job_runs_and_writes_a_file(slurm: SlurmCluster, job_dir: Path) -> None:
    out = job_dir / "out.txt"
    job = slurm.submit(str(script(job_dir / "job.sh", f"echo job $SLURM_JOB_ID > {out}\n")))
    assert job.isdigit()
    slurm.wait_for(lambda: slurm.job_state(job)[0] == "COMPLETED", f"job {job} to complete")
    assert out.read_text() == f"job {job}\n"


def test_squeue_shows_why_a_job_is_pending(slurm: SlurmCluster, job_dir: Path) -> None:
    # One job holds every CPU of the node; the next must wait for it: (Resources).
    holder = slurm.submit("-c", str(slurm.cpus), "--wrap", "sleep 300")
    slurm.wait_for(lambda: slurm.job_state(holder)[0] == "RUNNING", "the first job to run")
    waiting = slurm.submit("-c", "1", "--wrap", "true")
    slurm.wait_for(lambda: slurm.job_state(waiting)[1] != "None", "a pending reason")
    assert slurm.job_state(waiting) == ("PENDING", "Resources")
    # More CPUs than the node has: accepted (no EnforcePartLimits), pending forever, and
    # 22.05 says so with its own reason.
    too_big = slurm.submit("-c", str(slurm.cpus + 1), "--wrap", "true")
    slurm.wait_for(lambda: slurm.job_state(too_big)[1] != "None", "a pending reason")
    assert slurm.job_state(too_big) == ("PENDING", "PartitionConfig")
    # The one-call form the backend's poll will use: every job, id|state|reason per line.
    lines = slurm.run(["squeue", "-h", "-o", "%i|%T|%r"]).stdout.splitlines()
    assert f"{waiting}|PENDING|Resources" in lines
    assert f"{holder}|RUNNING|None" in lines


def test_scancel_signal_reaches_the_batch_scripts_trap(slurm: SlurmCluster, job_dir: Path) -> None:
    log = job_dir / "trap.log"
    body = (
        f"trap 'echo got USR1 >> {log}; exit 0' USR1\n"
        f"echo started >> {log}\n"
        "sleep 300 &\n"
        "wait $!\n"  # a foreground sleep would delay the trap until it ends
    )
    job = slurm.submit(str(script(job_dir / "trap.sh", body)))
    slurm.wait_for(lambda: log.exists(), "the script to start")
    # Plain --signal goes to the job's steps only; --full reaches the batch shell too.
    slurm.run(["scancel", "--full", "--signal=USR1", job])
    slurm.wait_for(lambda: slurm.job_state(job)[0] == "COMPLETED", f"job {job} to end")
    assert log.read_text() == "started\ngot USR1\n"


def test_plain_scancel_signal_reaches_a_step_not_the_batch_shell(
    slurm: SlurmCluster, job_dir: Path
) -> None:
    # The backend's stop: TERM to the recipe under srun, while the batch shell lives on to
    # write the exit-code file after srun returns.
    log = job_dir / "step.log"
    step = script(
        job_dir / "step.sh",
        f"trap 'echo step got USR1 >> {log}; exit 3' USR1\n"
        f"echo step started >> {log}\nsleep 300 &\nwait $!\n",
    )
    step.chmod(0o755)
    body = f"trap 'echo batch got USR1 >> {log}' USR1\nsrun {step}\necho srun exited $? >> {log}\n"
    job = slurm.submit(str(script(job_dir / "batch.sh", body)))
    slurm.wait_for(lambda: log.exists(), "the step to start")
    slurm.run(["scancel", "--signal=USR1", job])
    slurm.wait_for(lambda: slurm.job_state(job)[0] == "COMPLETED", f"job {job} to end")
    assert log.read_text() == "step started\nstep got USR1\nsrun exited 3\n"


def test_scontrol_requeue_runs_the_job_again_appending_to_its_output(
    slurm: SlurmCluster, job_dir: Path
) -> None:
    out = job_dir / "job.out"
    body = (
        'echo "run ${SLURM_RESTART_COUNT:-0} of job $SLURM_JOB_ID"\n'
        # The first run waits to be requeued; the second ends.
        'if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then sleep 300; fi\n'
    )
    job = slurm.submit(
        "--requeue", "--open-mode=append", "-o", str(out), str(script(job_dir / "rq.sh", body))
    )
    slurm.wait_for(lambda: out.exists() and "run 0" in out.read_text(), "the first run")
    slurm.run(["scontrol", "requeue", job])
    slurm.wait_for(lambda: slurm.job_state(job)[0] == "COMPLETED", "the second run to end")
    lines = out.read_text().splitlines()
    assert lines[0] == f"run 0 of job {job}"
    assert lines[-1] == f"run 1 of job {job}"
    assert any("DUE TO JOB REQUEUE" in line for line in lines[1:-1])


def test_a_job_requeues_itself_and_runs_again(slurm: SlurmCluster, job_dir: Path) -> None:
    # The backend's preemption path: on the warning signal the recipe checkpoints and the job
    # requeues itself (SLURM_CONF reaches the job: sbatch exports the environment).
    out = job_dir / "self.out"
    body = (
        'echo "run ${SLURM_RESTART_COUNT:-0}"\n'
        'if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then\n'
        "    echo requeueing\n"
        '    scontrol requeue "$SLURM_JOB_ID"\n'  # this very shell is killed while it returns
        "    sleep 300\n"
        "fi\n"
    )
    job = slurm.submit(
        "--requeue", "--open-mode=append", "-o", str(out), str(script(job_dir / "self.sh", body))
    )
    slurm.wait_for(lambda: slurm.job_state(job)[0] == "COMPLETED", "the second run to end")
    lines = out.read_text().splitlines()
    assert lines[:2] == ["run 0", "requeueing"]
    assert lines[-1] == "run 1"


def test_one_squeue_call_for_many_jobs_tolerates_forgotten_ids(slurm: SlurmCluster) -> None:
    # The backend polls every run's job in one call. An id slurmctld has forgotten (MinJobAge
    # passed, or another cluster's) is left out of the answer; only a list of nothing but
    # unknown ids fails, and then the runs are all gone from squeue.
    job = slurm.submit("--wrap", "true")
    slurm.wait_for(lambda: slurm.job_state(job)[0] == "COMPLETED", "the job to end")
    form = ["squeue", "-h", "-t", "all", "-o", "%i|%T|%r"]
    mixed = slurm.run([*form, "-j", f"{job},999999"])
    assert mixed.stdout.splitlines() == [f"{job}|COMPLETED|None"]
    unknown = slurm.run([*form, "-j", "999999"], check=False)
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert "Invalid job id specified" in unknown.stderr


def test_a_failed_start_names_the_daemon_and_shows_its_log() -> None:
    cluster = SlurmCluster(extra_conf=["SelectType=select/nonexistent"])
    try:
        with pytest.raises(SlurmClusterError) as failure:
            cluster.start()
        # start() stopped what it had started: munged, and slurmctld's helpers.
        assert marked_pids(str(cluster.root)) == []
    finally:
        shutil.rmtree(cluster.root)
    message = str(failure.value)
    assert message.startswith("slurmctld exited with")
    assert "fatal: Can't find plugin for select/nonexistent" in message  # slurmctld's log


def test_stop_leaves_no_daemon_and_no_job_behind() -> None:
    with running_cluster() as cluster:
        pid_file = cluster.root / "job.pid"
        cluster.submit("--wrap", f"echo $$ > {pid_file}; exec sleep 300")
        cluster.wait_for(lambda: pid_file.exists() and pid_file.read_text(), "the job to start")
        job_pid = int(pid_file.read_text())
        daemons = [proc.pid for proc in cluster.procs.values()]
    assert marked_pids(str(cluster.root)) == []
    for pid in [job_pid, *daemons]:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), pid
    assert not cluster.root.exists()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_directory_too_deep_for_unix_sockets_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with pytest.raises(SlurmClusterError, match="too deep for slurm's unix sockets"):
        SlurmCluster(deep).start()
    assert not deep.exists()


def test_the_next_session_kills_what_a_killed_session_left(tmp_path: Path) -> None:
    # A test process killed by SIGKILL runs no teardown: its daemons die with it (they asked
    # for SIGTERM when their parent dies), but slurmstepd and its job live on.
    pid_file = tmp_path / "job.pid"
    session = subprocess.Popen(
        [sys.executable, "-c", KILLED_SESSION, str(pid_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert session.stdout is not None
    root = session.stdout.readline().strip()
    assert root.startswith(tempfile.gettempdir()), root
    cluster = SlurmCluster(Path(root))  # not started: used here only to wait
    cluster.wait_for(lambda: pid_file.exists() and pid_file.read_text(), "the job to start")
    job_pid = int(pid_file.read_text())
    session.kill()
    session.wait()
    cluster.wait_for(
        lambda: not any(program(pid) in DAEMONS for pid in marked_pids(root)),
        "the daemons to die with the session",
    )
    assert job_pid in marked_pids(root)  # the orphan this is about

    assert job_pid in kill_orphans()
    cluster.wait_for(lambda: not _alive(job_pid), "the orphaned job to die")
    assert marked_pids(root) == []
    assert not Path(root).exists()


KILLED_SESSION = """
import sys, time
from tests.slurm_cluster import running_cluster
with running_cluster() as cluster:
    print(cluster.root, flush=True)
    cluster.submit("--wrap", f"echo $$ > {sys.argv[1]}; exec sleep 300")
    time.sleep(300)
"""
REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not _is_zombie(pid)
