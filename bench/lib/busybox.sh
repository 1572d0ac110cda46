# shellcheck shell=bash
# The busybox base image for the benchmark, made by the test helper test/helpers/busybox.ts (the
# same archive the integration tests load), so bench and tests share one definition and one cache
# (.tzbuild-test/). The helper is TypeScript and not part of the compiled CLI: it is compiled here
# on the fly, without type checking, into a scratch dir that borrows the repo's node_modules and
# fixture cache through symlinks.
#   busybox_archive REPO SCRATCH OUT_FILE    writes a docker-archive tagged busybox:latest

busybox_archive() {
  local repo=$1 scratch=$2 out=$3
  [ -x /bin/busybox ] || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; }
  mkdir -p "$scratch" "$repo/.tzbuild-test"
  (cd "$repo" && npx --no-install tsc --noCheck --outDir "$scratch" --rootDir . \
    --module NodeNext --moduleResolution NodeNext --target ES2022 --skipLibCheck --types node \
    test/helpers/busybox.ts) || return 1
  # The compiled paths.js puts the repo root at $scratch: point its node_modules and cache home.
  ln -sfn "$repo/node_modules" "$scratch/node_modules"
  ln -sfn "$repo/.tzbuild-test" "$scratch/.tzbuild-test"
  node --input-type=module -e '
    const { makeBusyboxDockerArchive } = await import(process.argv[1]);
    await makeBusyboxDockerArchive(process.argv[2], "busybox:latest");
  ' "$scratch/test/helpers/busybox.js" "$out"
}
