# Sourced by the pinned A/B benchmarks (bench-cpuprof.sh, bench-heapprof.sh): the CPUs
# orderd and wrk are pinned to, a scratch folder removed on exit together with the
# orderd under test ($pid), and the figures every such script reports.
SERVER_CPU=0
WRK_CPU=1
[ "$(nproc)" -ge 2 ] || { WRK_CPU=0; echo "note: one CPU only; orderd and wrk share it" >&2; }

tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# cpu_ticks: orderd's ($pid) utime + stime so far, in clock ticks.
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$pid/stat"; }

# median, range: of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
range() { sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.3f-%.3f", lo, hi}'; }
