# SPDX-License-Identifier: GPL-2.0
# bench/plot.gp: results.png from out/pingpong.dat and out/tput.dat
# (written by report.py). Run from bench/.
set terminal pngcairo size 1400,560 font "sans,11"
set output "results.png"
set multiplot layout 1,2 title "kchan vs kernel IPC peers (QEMU -icount shift=0: virtual time = guest instructions)"
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics
set key top right
set xtics rotate by -30 nomirror
set yrange [0:*]

set title "Ping-pong round trip, 8 B (lower is better)"
set ylabel "virtual µs per round trip"
set style histogram clustered gap 1
plot "out/pingpong.dat" using 2:xtic(1) title "" linecolor rgb "#3b75af", \
     "" using 0:($2):(sprintf("%.2f", $2)) with labels offset 0,0.7 notitle

set title "Throughput, 1 producer -> 1 consumer, capacity 1,024 (higher is better)"
set ylabel "thousand messages / virtual second"
set style histogram clustered gap 1
plot "out/tput.dat" using 2:xtic(1) title "64 B" linecolor rgb "#3b75af", \
     "" using 3 title "4 KiB" linecolor rgb "#ef8536"
unset multiplot
