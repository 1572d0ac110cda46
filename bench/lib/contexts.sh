# shellcheck shell=bash
# The benchmark's build contexts, generated fresh under a temp dir on every run (never committed).
#   make_context NAME DIR     writes context NAME into DIR (Dockerfile included)
#   change_one_file NAME DIR TOKEN   rewrites the one file whose change the rebuild measures
#   CONTEXTS_ALL              the names, in report order
# Every Dockerfile starts FROM busybox:latest, which the caller loads into each builder first.

# shellcheck disable=SC2034 # read by run.sh
CONTEXTS_ALL="small many big bigrun multistage deletions"
BENCH_SMALL_FILES=${BENCH_SMALL_FILES:-20000}
BENCH_BIG_MB=${BENCH_BIG_MB:-300}

# One line describing each context, for the report.
context_description() {
  case $1 in
    small) echo "3 files, 6 instructions (WORKDIR, COPY, RUN, ENV, CMD); change: a copied file" ;;
    many) echo "60 instructions (ENV/LABEL/RUN/COPY/WORKDIR, 12 RUNs); change: file copied at step 39 of 60" ;;
    big)
      echo "$BENCH_SMALL_FILES small files + one ${BENCH_BIG_MB} MB random file, COPY . /data; change: one small file"
      ;;
    bigrun)
      echo "as big, COPY . /src then a RUN that reads every file of /src; change: one small file"
      ;;
    multistage) echo "two independent stages (COPY + RUN each) joined by COPY --from; change: a file of one stage" ;;
    deletions) echo "COPY a tree, RUN rm of files from it, RUN rm -rf of a dir + recreate; change: a copied file" ;;
  esac
}

make_context() {
  local name=$1 dir=$2
  rm -rf "$dir"
  mkdir -p "$dir"
  "make_${name}" "$dir"
}

# The file each context's one-file rebuild rewrites.
changed_file() {
  case $1 in
    small) echo config.txt ;;
    many) echo files/f38.txt ;;  # line 39 of 60: the last third re-runs
    big | bigrun) big_middle_file ;;
    multistage) echo left/file-07.txt ;;
    deletions) echo tree/keep/a-050.txt ;;
  esac
}

# A file in the middle directory of the big context (dirs are named d0…dN, zero-padded).
big_middle_file() {
  local dirs=$(((BENCH_SMALL_FILES + 99) / 100))
  local last=$((dirs - 1))
  printf 'small/d%0*d/f050.txt\n' "${#last}" "$((dirs / 2))"
}

change_one_file() {
  printf 'changed %s\n' "$3" >"$2/$(changed_file "$1")"
}

make_small() {
  local dir=$1
  # shellcheck disable=SC2016 # expanded by the container's shell, not here
  printf '#!/bin/sh\necho "hello from $(cat /app/config.txt)"\n' >"$dir/main.sh"
  printf 'config v1\n' >"$dir/config.txt"
  printf '# small\nA tiny context.\n' >"$dir/README.md"
  cat >"$dir/Dockerfile" <<'EOF'
FROM busybox:latest
WORKDIR /app
COPY . /app
RUN sh /app/main.sh > /app/out.txt
ENV GREETING=hello
CMD ["sh", "/app/main.sh"]
EOF
}

# 60 instructions: FROM + 59 cycling through ENV, LABEL, RUN, COPY, WORKDIR.
make_many() {
  local dir=$1 i
  mkdir -p "$dir/files"
  {
    echo 'FROM busybox:latest'
    for i in $(seq 1 59); do
      case $((i % 5)) in
        0) echo "ENV V$i=value-$i" ;;
        1) echo "LABEL bench.l$i=\"label $i\"" ;;
        2) echo "RUN echo step-$i >> /steps.log" ;;
        3) printf 'file %s\n' "$i" >"$dir/files/f$i.txt"; echo "COPY files/f$i.txt /files/" ;;
        4) echo "WORKDIR /w/$i" ;;
      esac
    done
  } >"$dir/Dockerfile"
}

make_big() {
  local dir=$1 d f
  for d in $(seq -w 0 $(((BENCH_SMALL_FILES + 99) / 100 - 1))); do
    mkdir -p "$dir/small/d$d"
    for f in $(seq -w 000 099); do
      printf 'small file %s/%s %s\n' "$d" "$f" "$RANDOM$RANDOM" >"$dir/small/d$d/f$f.txt"
    done
  done
  head -c "$((BENCH_BIG_MB * 1024 * 1024))" /dev/urandom >"$dir/big.bin"
  printf 'FROM busybox:latest\nCOPY . /data\n' >"$dir/Dockerfile"
}

# The shape of most real Dockerfiles: a big COPY, then a RUN over what it copied. The RUN reads
# every file, so its time includes the COPY's snapshot being there to mount. dd, not `wc -c`:
# busybox's wc reads a byte at a time (~2.5 s of CPU for 300 MB), which would swamp the rest.
make_bigrun() {
  local dir=$1
  make_big "$dir"
  cat >"$dir/Dockerfile" <<'EOF'
FROM busybox:latest
COPY . /src
RUN find /src -type f | wc -l > /files.txt && dd if=/src/big.bin of=/dev/null bs=1M 2>/dev/null && \
    cat /src/small/*/* | wc -c > /bytes.txt
EOF
}

make_multistage() {
  local dir=$1 side i
  for side in left right; do
    mkdir -p "$dir/$side"
    for i in $(seq -w 0 49); do printf '%s file %s\n' "$side" "$i" >"$dir/$side/file-$i.txt"; done
  done
  cat >"$dir/Dockerfile" <<'EOF'
FROM busybox:latest AS left
COPY left/ /src/
RUN mkdir /out && sha256sum /src/* > /out/left.sum

FROM busybox:latest AS right
COPY right/ /src/
RUN mkdir /out && md5sum /src/* > /out/right.sum

FROM busybox:latest
COPY --from=left /out/ /out/
COPY --from=right /out/ /out/
CMD ["cat", "/out/left.sum", "/out/right.sum"]
EOF
}

make_deletions() {
  local dir=$1 i
  mkdir -p "$dir/tree/keep" "$dir/tree/gone/sub"
  for i in $(seq -w 000 099); do
    printf 'keep %s\n' "$i" >"$dir/tree/keep/a-$i.txt"
    printf 'gone %s\n' "$i" >"$dir/tree/gone/b-$i.txt"
    printf 'sub %s\n' "$i" >"$dir/tree/gone/sub/c-$i.txt"
  done
  cat >"$dir/Dockerfile" <<'EOF'
FROM busybox:latest
COPY tree/ /tree/
RUN rm /tree/keep/a-00*.txt /tree/keep/a-01*.txt
RUN rm -rf /tree/gone && mkdir -p /tree/gone && echo fresh > /tree/gone/new.txt
CMD ["ls", "-R", "/tree"]
EOF
}
