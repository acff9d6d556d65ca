#!/usr/bin/env bash
exec "$(dirname "$0")/install-deps.sh" bench  # the bench group; kept for bench/train_throughput.sh
