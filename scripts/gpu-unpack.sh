#!/usr/bin/env bash
# gpu-unpack.sh - install a scripts/gpu-bundle.sh bundle on the GPU machine and write its
# environment.
#
#   1. extracts the bundle into $BUNDLE_DIR;
#   2. installs its usr/ and etc/ into $ROOT (/) without overwriting anything there (as
#      cp -rn would: a library the machine already has stays the machine's), prints what it added,
#      runs ldconfig; without write access to /usr it installs nothing and points Open MPI at
#      the extracted tree instead (OPAL_PREFIX, OPAL_SYSCONFDIR, PMIx's component path, PATH,
#      LD_LIBRARY_PATH);
#   3. copies the build's files (repo/<build>/...) into $DEST, the repository root, replacing
#      what is there;
#   4. finds the machine's CUDA libraries - the toolkit's (/usr/local/cuda*), the pip wheels'
#      (python's site-packages/nvidia/*/lib: nvidia-cublas, nvidia-nccl-cu13, ...) and the
#      driver's libcuda.so.1 when ldconfig does not know it - and writes $ENV_FILE with
#      LD_LIBRARY_PATH, MAESTRO_PLUGIN_PATH (the plugins' compiled-in folder is this build
#      machine's), MAESTRO_CUDA_MODULE (likewise the CUDA module's), MAESTRO and GEMM_GPU
#      (for bench/train_gpu.sh) and the Open MPI settings a root run in a container needs;
#      the LD_LIBRARY_PATH line is printed too;
#   5. checks: `ldd maestro` and `ldd maestro-cuda.so` have nothing "not found" (else exit 1,
#      naming them), the other packed executables likewise (a warning), and `mpirun -np 1
#      maestro version` runs.
#
# usage: scripts/gpu-unpack.sh [BUNDLE]   (default .gpu/bundle.tar.xz, else .gpu/bundle.tar.gz)
#        source "${ENV_FILE:-/tmp/gpu-env.sh}"
# env:   BUNDLE_DIR (/tmp/b), ENV_FILE (/tmp/gpu-env.sh), DEST (.), ROOT (/: a scratch folder
#        tries the install out), PY (python3: whose nvidia wheels to use), CHECK_MPIRUN (1)
set -euo pipefail
shopt -s extglob

bundle=${1:-}
if [[ -z "$bundle" ]]; then
    for b in .gpu/bundle.tar.xz .gpu/bundle.tar.gz; do
        [[ -f "$b" ]] && bundle=$b && break
    done
fi
bdir=${BUNDLE_DIR:-/tmp/b}
env_file=${ENV_FILE:-/tmp/gpu-env.sh}
dest=${DEST:-.}
root_dir=${ROOT:-/}
root_dir=${root_dir%/}
py=${PY:-python3}

die() {
    echo "gpu-unpack: $*" >&2
    exit 1
}
say() { echo "gpu-unpack: $*"; }

[[ -n "$bundle" ]] || die "no bundle given and none at .gpu/bundle.tar.{xz,gz} (scripts/gpu-bundle.sh makes one)"
[[ -f "$bundle" ]] || die "$bundle: no such file"
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

# ---- 1. extract -----------------------------------------------------------------------------
rm -rf "$bdir"
mkdir -p "$bdir"
tar -xf "$bundle" -C "$bdir" || die "$bundle: cannot extract (xz or gzip tarball expected)"
[[ -f "$bdir/gpu-bundle.txt" ]] || die "$bundle: no gpu-bundle.txt inside; not a gpu-bundle.sh bundle"
build=$(sed -n 's/^build=//p' "$bdir/gpu-bundle.txt")
say "bundle $bundle: $(sed -n 's/^created=//p' "$bdir/gpu-bundle.txt"), commit" \
    "$(sed -n 's/^commit=//p' "$bdir/gpu-bundle.txt"), needs glibc >=" \
    "$(sed -n 's/^glibc_needed=//p' "$bdir/gpu-bundle.txt"); this machine has" \
    "$(ldd --version 2>/dev/null | sed -n 1p | grep -o '[0-9][0-9.]*$' || echo '?')"

# ---- 2. install usr/ and etc/ without overwriting -------------------------------------------
installed=0
if mkdir -p "$root_dir/usr" "$root_dir/etc" 2>/dev/null && [[ -w "$root_dir/usr" && -w "$root_dir/etc" ]]; then
    added="$bdir/added.txt" kept="$bdir/kept.txt"
    : >"$added"
    : >"$kept"
    (cd "$bdir" && find usr etc \( -type f -o -type l \) | sort) | while IFS= read -r p; do
        if [[ -e "$root_dir/$p" || -L "$root_dir/$p" ]]; then
            echo "/$p" >>"$kept"
        else
            echo "/$p" >>"$added"
        fi
    done
    # What cp -rn would do, through tar: coreutils 9.2 made `cp -n` fail when it skips a file
    # and later ones warn, so the outcome of -n depends on the machine's cp.
    sed 's#^/##' "$added" | tar -C "$bdir" --no-recursion -cf - -T - |
        tar -C "${root_dir:-/}" --skip-old-files --keep-directory-symlink -xpf -
    installed=1
    say "installed into ${root_dir:-/}: $(wc -l <"$added") files added, $(wc -l <"$kept") kept" \
        "as they were (lists: $added, $kept)"
    # Compact on purpose (a device run returns only the tail of its output): Open MPI's folders
    # by count, programs and libraries by soname.
    grep -E '/(openmpi|pmix2)/' "$added" | sed -E 's#^(.*/(openmpi|pmix2))/.*#\1/#' | sort |
        uniq -c | awk '{printf "    added %s (%d files)\n", $2, $1}' || true
    for what in added kept; do
        list=$(grep -vE '/(openmpi|pmix2)/' "$bdir/$what.txt" | grep -E '/bin/|\.so\.[0-9]+$' |
            sed 's#.*/##' | tr '\n' ' ' || true)
        if [[ -n "$list" ]]; then
            echo "$list" | awk -v w="$what" '{ line = "    " w ":"
                for (i = 1; i <= NF; i++) {
                    if (length(line) + length($i) > 99) { print line; line = "       " }
                    line = line " " $i
                }
                print line }'
        fi
    done
    if [[ -z "$root_dir" ]] && command -v ldconfig >/dev/null; then
        ldconfig || say "ldconfig failed (the libraries are still found in their default folders)"
    fi
else
    say "cannot write to ${root_dir:-/}/usr and /etc: nothing installed; Open MPI and the" \
        "libraries run from $bdir instead (OPAL_PREFIX, LD_LIBRARY_PATH in $env_file)"
fi

# ---- 3. the build's files -------------------------------------------------------------------
if [[ -d "$bdir/repo" ]]; then
    (cd "$bdir/repo" && find . -type f | sed 's#^\./##' | sort) | while IFS= read -r f; do
        mkdir -p "$dest/$(dirname "$f")"
        cp -pf "$bdir/repo/$f" "$dest/$f"
        echo "    $dest/$f"
    done
fi
maestro="$dest/$build/maestro"
[[ -x "$maestro" ]] || die "$maestro: not in the bundle"

# ---- 4. the machine's CUDA libraries --------------------------------------------------------
dirs=()
add_dir() {
    local d
    d=$(realpath "$1" 2>/dev/null) || return 0
    for x in "${dirs[@]+"${dirs[@]}"}"; do
        [[ "$x" == "$d" ]] && return 0
    done
    dirs+=("$d")
}
has_cuda_libs() { compgen -G "$1/lib@(cudart|cublas|cublasLt|nccl|cuda).so*" >/dev/null; }
# the toolkit the binaries were compiled against comes first, then the pip wheels
for t in /usr/local/cuda /usr/local/cuda-* /opt/cuda; do
    for sub in lib64 lib targets/x86_64-linux/lib; do
        [[ -d "$t/$sub" ]] && has_cuda_libs "$t/$sub" && add_dir "$t/$sub"
    done
done
if command -v "$py" >/dev/null; then
    while IFS= read -r nv; do
        [[ -d "$nv" ]] || continue
        while IFS= read -r d; do
            add_dir "$d"
        done < <(find "$nv" -maxdepth 3 -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u)
    done < <("$py" -c 'import nvidia
for p in nvidia.__path__: print(p)' 2>/dev/null || true)
fi
if ! ldconfig -p 2>/dev/null | grep 'libcuda\.so\.1 ' >/dev/null; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 \
        /usr/lib/wsl/lib /usr/local/cuda/compat /usr/local/cuda/lib64/stubs; do
        if [[ -e "$d/libcuda.so.1" ]]; then
            [[ "$d" == */stubs ]] && say "warning: only the stub libcuda.so.1 found ($d): no driver"
            add_dir "$d"
            break
        fi
    done
fi
if ((installed == 0)); then
    # every folder of libraries but the plugin ones (Open MPI's and PMIx's components)
    while IFS= read -r d; do
        add_dir "$d"
    done < <(find "$bdir/usr" -name 'lib*.so*' -not -path '*/openmpi3/*' -not -path '*/pmix2/lib/pmix/*' \
        -printf '%h\n' | sort -u)
fi
ldpath=$(
    IFS=:
    echo "${dirs[*]+"${dirs[*]}"}"
)

# ---- the environment file -------------------------------------------------------------------
{
    echo "# written by scripts/gpu-unpack.sh from $bundle on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    [[ -n "$ldpath" ]] && echo "export LD_LIBRARY_PATH=\"$ldpath\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
    echo "export MAESTRO_PLUGIN_PATH=\"$dest/$build/plugins\""
    # the CUDA module: test programs look for it at this build machine's path otherwise
    echo "export MAESTRO_CUDA_MODULE=\"$dest/$build/maestro-cuda.so\""
    echo "export MAESTRO=\"$maestro\" GEMM_GPU=\"$dest/$build/gemm_gpu_bound\""
    echo "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    echo "export OMPI_MCA_btl_vader_single_copy_mechanism=none"
    # Without ssh or rsh, Open MPI 4's default launcher refuses to start even local ranks;
    # the isolated launcher starts them on this machine only.
    if ! command -v ssh >/dev/null && ! command -v rsh >/dev/null; then
        echo "export OMPI_MCA_plm=isolated"
    fi
    if ((installed == 0)); then
        echo "export OPAL_PREFIX=\"$bdir/usr\" OPAL_SYSCONFDIR=\"$bdir/etc/openmpi\""
        echo "export PMIX_MCA_mca_base_component_path=\"$bdir/usr/lib/x86_64-linux-gnu/pmix2/lib/pmix\""
        echo "export PATH=\"$bdir/usr/bin:\$PATH\""
    fi
} >"$env_file"
say "environment written to $env_file (source it); LD_LIBRARY_PATH adds:"
if [[ -n "$ldpath" ]]; then
    echo "export LD_LIBRARY_PATH=\"$ldpath\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
else
    echo "    (nothing: no CUDA library folders found outside the loader's cache)"
fi

# ---- 5. checks ------------------------------------------------------------------------------
# shellcheck disable=SC1090 # written just above
source "$env_file"
say "CUDA libraries the loader will use:"
for lib in libcuda.so.1 libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnccl.so.2; do
    where=""
    for d in "${dirs[@]+"${dirs[@]}"}"; do
        [[ -e "$d/$lib" ]] && where="$d/$lib" && break
    done
    [[ -n "$where" ]] ||
        where=$( (ldconfig -p 2>/dev/null || true) | awk -v l="$lib" '$1 == l {print $NF; exit}')
    printf '    %-18s %s\n' "$lib" "${where:-not found}"
done
bad=0
while IFS= read -r f; do
    [[ -f "$dest/$f" ]] || continue
    head -c4 "$dest/$f" | grep -q 'ELF' || continue
    miss=$(ldd "$dest/$f" 2>&1 | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
    [[ -z "$miss" ]] && continue
    if [[ "$f" == "$build/maestro" || "$f" == "$build/maestro-cuda.so" ]]; then
        echo "gpu-unpack: $dest/$f: libraries not found: $miss" >&2
        bad=1
    else
        echo "gpu-unpack: warning: $dest/$f: libraries not found: $miss" >&2
    fi
done < <(sed -n 's/^file=//p' "$bdir/gpu-bundle.txt")
((bad == 0)) || die "maestro cannot start here; see the libraries above"
say "ldd $maestro: every library found"
if [[ "${CHECK_MPIRUN:-1}" == 1 ]]; then
    if out=$(timeout 60 mpirun -np 1 "$maestro" version 2>&1); then
        say "mpirun -np 1 maestro version:"
        # shellcheck disable=SC2001 # indenting every line of a multi-line text
        echo "$out" | sed 's/^/    /'
    else
        echo "$out" | tail -20 >&2
        die "mpirun -np 1 $maestro version failed"
    fi
fi
