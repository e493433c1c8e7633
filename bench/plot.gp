# SPDX-License-Identifier: GPL-2.0
# bench/plot.gp: a plot per table of RESULTS.md, from the out/*.dat files
# report.py writes. Run from bench/. Virtual time: QEMU -icount shift=0,
# 1 ns per guest instruction.
set terminal pngcairo size 1000,560 font "sans,11" noenhanced
set grid ytics
set key top left

# ---- bar charts
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by -30 nomirror
set yrange [0:*]

set output "results-floors.png"
set title "Floors and single-process pairs (lower is better)"
set ylabel "virtual µs per operation"
plot "out/floors.dat" using 2:xtic(1) notitle linecolor rgb "#3b75af", \
     "" using 0:($2):(sprintf("%.2f", $2)) with labels offset 0,0.7 notitle

set output "results-pingpong.png"
set title "Ping-pong round trip, 8 B, two processes (lower is better)"
set ylabel "virtual µs per round trip"
plot "out/pingpong.dat" using 2:xtic(1) notitle linecolor rgb "#3b75af", \
     "" using 0:($2):(sprintf("%.2f", $2)) with labels offset 0,0.7 notitle

set output "results-batch.png"
set title "Batch of N vs one message per call, 64 B (higher is better)"
set ylabel "thousand messages / virtual second"
plot "out/batch.dat" using 2:xtic(1) notitle linecolor rgb "#3b75af", \
     "" using 0:($2):(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle

set output "results-mem.png"
set title "Kernel memory per idle object (lower is better)"
set ylabel "slab bytes per object"
plot "out/mem.dat" using 2:xtic(1) notitle linecolor rgb "#3b75af", \
     "" using 0:($2):(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle

# ---- curves over a log x axis
unset style
set style data linespoints
set xtics norotate
set logscale x 2
set logscale y 10
set yrange [*:*]
set key top left Left reverse

set output "results-size.png"
set title "Size curve: one message per call, buffered (lower is better)"
set xlabel "message size, bytes"
set ylabel "virtual µs per message"
plot "out/size.dat" using 1:2 title "kchan" lw 2, \
     "" using 1:3 title "pipe", \
     "" using 1:4 title "POSIX mq", \
     "" using 1:5 title "SOCK_SEQPACKET"

set output "results-select.png"
set title "One ready of N: select, select set, epoll_wait (lower is better)"
set xlabel "N, cases / watched fds"
set ylabel "virtual µs per event"
plot "out/select.dat" using 1:2 title "kchan select" lw 2, \
     "" using 1:3 title "kchan select set" lw 2, \
     "" using 1:4 title "epoll_wait over pipes"
