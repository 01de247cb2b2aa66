#!/usr/bin/env bash
# The SLURM tests (tests/slurm/) start a real one-node cluster on localhost: slurmctld,
# slurmd and munged in the foreground, config and state in a temp directory (see
# tests/slurm_cluster.py). They need Debian's slurm-wlm and munge. Installed here where
# that is possible without asking (root with apt-get, as on the CI machine); elsewhere a
# clear one-line error says what to run. Quick and silent when everything is present.
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"  # the daemons live in sbin, often not on a user's PATH
have_all() {
    local cmd
    for cmd in slurmctld slurmd munged sbatch squeue sinfo scontrol scancel; do
        command -v "$cmd" >/dev/null 2>&1 || return 1
    done
}
have_all && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing slurm-wlm and munge for the SLURM tests (apt-get)"
    apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    have_all && exit 0
fi
echo "make test: the SLURM tests need slurm-wlm and munge; install them (e.g. 'sudo apt-get install --no-install-recommends slurm-wlm munge') and run make test again" >&2
exit 1
