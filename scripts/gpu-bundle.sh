#!/usr/bin/env bash
# gpu-bundle.sh - pack a build and every runtime it needs for a GPU machine without Debian's
# packages (no Open MPI, HDF5, OpenBLAS, libyaml there; glibc, CUDA and PyTorch are there).
#
# The tarball holds:
#   repo/<build>/maestro, repo/<build>/maestro-cuda.so (the CUDA module, found next to the
#       binary), repo/<build>/gemm_gpu_bound, repo/<build>/plugins/*.so and each
#       extra file named on the command line (test executables), at their paths relative to
#       the repository root (missing ones are skipped with a warning);
#   usr/..., etc/... at their absolute paths: every shared library those ELF files need per
#       ldd, except glibc's (the machine has its own, newer one) and CUDA's (driver, runtime,
#       cuBLAS, NCCL: the machine has the ones matching its driver), plus a complete Open MPI
#       runtime from this box: orterun (mpirun, mpiexec), orted, ompi_info,
#       /usr/lib/x86_64-linux-gnu/openmpi/ (components and its lib/), the PMIx it uses
#       (pmix2/), /etc/openmpi/, /usr/share/openmpi/ (help texts), and the libraries the
#       components need. Open MPI looks for its components, help texts and config at the
#       compiled-in /usr/... and /etc/... paths, hence the absolute layout;
#   gpu-bundle.txt: what was packed, from which build and commit, and the newest glibc symbol
#       version any packed file needs.
# scripts/gpu-unpack.sh installs it without overwriting anything (cp -n) and writes the
# environment (LD_LIBRARY_PATH for CUDA, cuBLAS and NCCL, MAESTRO_PLUGIN_PATH) to a file.
#
# A library is packed as its real file plus the soname link beside it; one outside the default
# directories (OpenBLAS in openblas-pthread/) also gets a soname link in
# /usr/lib/x86_64-linux-gnu. Compression is xz (-T0 -6) when xz exists, else gzip; tar reads
# either, whatever the name says.
#
# usage: scripts/gpu-bundle.sh [BUILD] [FILE...]   (BUILD default build; FILEs relative to
#                                                   the repository root, e.g.
#                                                   build-cuda/tests/kernels_test_cuda_backend)
# env:   COMPRESS (xz, the default when installed, or gzip), BUNDLE (the output: default
#        .gpu/bundle.tar.xz, or .gpu/bundle.tar.gz with gzip)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
build=${build%/}
shift || true
compress=${COMPRESS:-$(command -v xz >/dev/null && echo xz || echo gzip)}
bundle=${BUNDLE:-.gpu/bundle.tar.$([[ "$compress" == xz ]] && echo xz || echo gz)}
multiarch=/usr/lib/x86_64-linux-gnu

die() {
    echo "gpu-bundle: $*" >&2
    exit 1
}
warn() { echo "gpu-bundle: warning: $*" >&2; }

[[ -d "$build" ]] || die "$build: no such build folder (give the CMake build folder first)"
[[ -x "$build/maestro" ]] || die "$build/maestro: not built"
case "$compress" in xz | gzip) ;; *) die "COMPRESS=$compress: xz or gzip" ;; esac
for t in ldd tar objdump readelf "$compress"; do
    command -v "$t" >/dev/null || die "$t not found"
done

# The ignored folder the bundle lives in, kept out of git without touching .gitignore.
gitdir=$(git rev-parse --git-common-dir 2>/dev/null || true)
if [[ -n "$gitdir" ]]; then
    mkdir -p "$gitdir/info"
    grep -qxF '/.gpu/' "$gitdir/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$gitdir/info/exclude"
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/gpu-bundle.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/repo"

# ---- the build's files ----------------------------------------------------------------------
elves=()  # every ELF file packed, for ldd and the glibc check
packed=() # repo-relative paths
add_repo_file() { # PATH (relative to the repository root)
    local f=$1
    if [[ ! -f "$f" ]]; then
        warn "$f: missing, skipped"
        return 0
    fi
    mkdir -p "$stage/repo/$(dirname "$f")"
    cp -pL "$f" "$stage/repo/$f"
    packed+=("$f")
    if [[ "$(head -c4 "$f" | od -An -c | tr -d ' ')" == '177ELF' ]]; then
        elves+=("$(realpath "$f")")
    fi
}
add_repo_file "$build/maestro"
add_repo_file "$build/maestro-cuda.so" # the CUDA backend, loaded on first use
add_repo_file "$build/gemm_gpu_bound"
for p in "$build"/plugins/*.so; do
    [[ -e "$p" ]] && add_repo_file "$p"
done
for f in "$@"; do
    add_repo_file "${f#./}"
done

# ---- Open MPI -------------------------------------------------------------------------------
ompi_dirs=("$multiarch/openmpi" "$multiarch/pmix2" /etc/openmpi /usr/share/openmpi)
for d in "${ompi_dirs[@]}"; do
    [[ -d "$d" ]] || die "$d: missing (is Open MPI installed? scripts/install-deps.sh)"
    # cp --parents fails on coreutils 9.1; archives and headers are not needed to run
    tar -C / --exclude='*.a' --exclude='*.la' --exclude='usr/lib/x86_64-linux-gnu/openmpi/include' \
        -cf - "${d#/}" | tar -C "$stage" -xf -
done
mkdir -p "$stage/usr/bin"
for b in orterun orted ompi_info; do
    [[ -x "/usr/bin/$b" ]] || die "/usr/bin/$b: missing (Debian's openmpi-bin)"
    cp -p "/usr/bin/$b" "$stage/usr/bin/"
    elves+=("/usr/bin/$b")
done
# Debian reaches orterun through /etc/alternatives; the bundle links straight to it.
for l in mpirun mpiexec mpirun.openmpi mpiexec.openmpi; do
    ln -sfn orterun "$stage/usr/bin/$l"
done
while IFS= read -r -d '' so; do
    elves+=("$so")
done < <(find "$multiarch/openmpi" "$multiarch/pmix2" -name '*.so*' -type f -print0)

# ---- shared libraries, per ldd --------------------------------------------------------------
# glibc's own (the machine's newer glibc serves them) and CUDA's (the machine's match its driver)
skip_re='^(linux-vdso|ld-linux|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|libthread_db|libnss_[a-z]*|libcuda|libcudart|libcublas|libcublasLt|libnccl|libnvidia-[a-z-]*|libnvrtc|libnvJitLink)\.so'
declare -A libs=()
missing=()
for e in "${elves[@]}"; do
    while IFS= read -r line; do
        name=$(awk '{print $1}' <<<"$line")
        [[ "$name" =~ $skip_re ]] && continue
        if [[ "$line" == *"=> not found"* ]]; then
            missing+=("$name (needed by $e)")
            continue
        fi
        path=$(awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"$line")
        [[ -n "$path" ]] && libs["$path"]=1
    done < <(ldd "$e" 2>/dev/null || true)
done
for m in "${missing[@]+"${missing[@]}"}"; do
    warn "not found here: $m"
done

nlibs=0
for path in "${!libs[@]}"; do
    # /lib is a link to usr/lib on Debian 12: pack under the resolved folder.
    dir=$(realpath "$(dirname "$path")")
    name=$(basename "$path")
    real=$(realpath "$path")
    [[ "$real" == /usr/* ]] || { warn "$path: outside /usr ($real), skipped"; continue; }
    mkdir -p "$stage$(dirname "$real")" "$stage$dir"
    [[ -e "$stage$real" ]] || cp -p "$real" "$stage$real"
    elves+=("$real")
    if [[ "$dir/$name" != "$real" && ! -e "$stage$dir/$name" ]]; then
        ln -srn "$stage$real" "$stage$dir/$name"
    fi
    if [[ "$dir" != "$multiarch" && "$dir" != /usr/lib && ! -e "$stage$multiarch/$name" ]]; then
        mkdir -p "$stage$multiarch"
        ln -srn "$stage$real" "$stage$multiarch/$name"
    fi
    nlibs=$((nlibs + 1))
done

# ---- the glibc this needs -------------------------------------------------------------------
glibc_max=$(for e in "${elves[@]}"; do objdump -T "$e" 2>/dev/null; done |
    grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tail -1)
glibc_here=$(ldd --version | sed -n 1p | grep -o '[0-9][0-9.]*$')

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
{
    echo "build=$build"
    echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"'), glibc $glibc_here"
    echo "commit=$commit"
    echo "glibc_needed=${glibc_max#GLIBC_}"
    echo "libraries=$nlibs"
    for f in "${packed[@]}"; do echo "file=$f"; done
} >"$stage/gpu-bundle.txt"

mkdir -p "$(dirname "$bundle")"
tmp="$bundle.tmp.$$"
if [[ "$compress" == xz ]]; then
    tar -C "$stage" --owner=0 --group=0 -cf - . | xz -T0 -6 >"$tmp"
else
    tar -C "$stage" --owner=0 --group=0 -czf "$tmp" .
fi
mv -f "$tmp" "$bundle"

size=$(du -b "$bundle" | cut -f1)
raw=$(du -sb "$stage" | cut -f1)
echo "gpu-bundle: $bundle: $((size / 1024 / 1024)) MiB ($compress; $((raw / 1024 / 1024)) MiB unpacked)," \
    "${#packed[@]} build files, $nlibs libraries + Open MPI; needs glibc >= ${glibc_max#GLIBC_}" \
    "(built on $glibc_here)"
for f in "${packed[@]}"; do echo "  $f"; done
if ((size > 50 * 1024 * 1024)); then
    warn "the bundle is over 50 MiB: the device carry limit is 64 MiB for everything carried"
fi
