#!/bin/sh
# examples/setup.sh -- build the host side of examples/pod/config.json: the
# kubelet, containerd and Docker paths its mounts point at, with the file
# systems and device nodes that decide them (a tmpfs memory emptyDir, a disk
# emptyDir, configmaps and a secret in kubelet's `..data` layout, a projected
# service-account token, a block device node, the tardev snapshotter's layer
# files and the container's bundle with its root filesystem directory).
#
# It runs ONLY as root inside a private mount namespace, so that everything
# vanishes with that namespace and nothing is written on the host:
#
#   unshare -m --propagation private sh -c 'examples/setup.sh && bin/katamount plan ...'
#
# /var/lib/{kubelet,containerd,docker} and /run/containerd get a tmpfs over
# them (over /var/lib or /run when one is missing: no directory is created on
# the host); the disk emptyDir is a read-only bind mount of a directory that is
# on disk (this checkout's examples/pod, else /var/tmp, /var or /).
set -eu

die() { echo "examples/setup.sh: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "needs root (it mounts tmpfs and makes device nodes)"
[ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] ||
  die "run me inside a private mount namespace: unshare -m --propagation private sh -c 'examples/setup.sh && ...'"
mount --make-rprivate /

here=$(cd "$(dirname "$0")" && pwd -P)
cwd=$(pwd -P)

POD_UID=5b0e7c1a-93f4-4d2e-8a61-2c7f0b9d4e38
SANDBOX=9f3c1e7a5b2d4f6089a1c3e5f7092b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c
POD=/var/lib/kubelet/pods/$POD_UID
VOL=$POD/volumes
CRI=/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/$SANDBOX
SHM=/run/containerd/io.containerd.grpc.v1.cri/sandboxes/$SANDBOX/shm
PUBLISH=/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6
LAYERS=/var/lib/containerd/io.containerd.snapshotter.v1.tardev/layers
BUNDLE=/run/containerd/io.containerd.runtime.v2.task/k8s.io/c7a91e03b5d2f4687a9c0e1b3d5f7092b4c6e8a0d2f4b6c8e0a2c4e6a8b0d2f4

tmpfs() { # tmpfs DIR [OPTIONS]
  mkdir -p "$1"
  mount -t tmpfs -o "${2:-mode=0755}" tmpfs "$1"
}

# cover PARENT NAME...: a tmpfs over each PARENT/NAME, or over PARENT itself
# when one of them is missing on the host (unless PARENT holds the current
# directory: then the missing mount points are created, and said so).
cover() {
  parent=$1; shift
  all=yes
  for n; do [ -d "$parent/$n" ] || all=no; done
  if [ "$all" = yes ]; then
    for n; do tmpfs "$parent/$n"; done
  elif case "$cwd/" in "$parent"/*) true ;; *) false ;; esac; then
    echo "examples/setup.sh: creating the missing mount points under $parent on the host" >&2
    for n; do tmpfs "$parent/$n"; done
  else
    tmpfs "$parent"
    for n; do mkdir -p "$parent/$n"; done
  fi
}

cover /var/lib kubelet containerd docker
cover /run containerd kata-containers

# --- the pod's own files ----------------------------------------------------
mkdir -p "$POD/containers/web" "$POD/plugins/kubernetes.io~empty-dir"
cat > "$POD/etc-hosts" <<'EOF'
# Kubernetes-managed hosts file.
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
10.244.1.17	shop-frontend-7d9c8b6f5-x2k4q
EOF
: > "$POD/containers/web/3f8a2c1d"          # /dev/termination-log

mkdir -p "$CRI"
echo shop-frontend-7d9c8b6f5-x2k4q > "$CRI/hostname"
printf 'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n' \
  > "$CRI/resolv.conf"
tmpfs "$SHM" "nosuid,nodev,noexec,mode=1777,size=64m"   # the sandbox's /dev/shm

# --- emptyDirs: medium Memory is a tmpfs of its own; the default medium is a
# directory on the node's disk (here: a read-only bind of a directory on disk).
tmpfs "$VOL/kubernetes.io~empty-dir/cache" "mode=0777,size=128m"
disk=
for d in "$here/pod" /var/tmp /var /; do
  t=$(stat -f -c %T "$d" 2>/dev/null || echo tmpfs)
  case "$t" in tmpfs|ramfs) ;; *) disk=$d; break ;; esac
done
[ -n "$disk" ] || die "no directory on a disk file system to stand for the disk emptyDir"
mkdir -p "$VOL/kubernetes.io~empty-dir/scratch"
mount --bind "$disk" "$VOL/kubernetes.io~empty-dir/scratch"
mount -o remount,bind,ro "$VOL/kubernetes.io~empty-dir/scratch"

# --- configmaps, secrets, projected volumes: kubelet's atomic writer layout:
# a timestamped directory, `..data` pointing at it, a symlink per key.
atomic() { # atomic DIR KEY...  (each key's content: a line naming it)
  dir=$1; shift
  ts=..2026_11_29_04_12_33.1587362914
  mkdir -p "$dir/$ts"
  for k; do
    printf '# %s\n' "$k" > "$dir/$ts/$k"
    ln -s "..data/$k" "$dir/$k"
  done
  ln -s "$ts" "$dir/..data"
}
atomic "$VOL/kubernetes.io~configmap/nginx-conf" default.conf gzip.conf
atomic "$VOL/kubernetes.io~configmap/static-pages" index.html 50x.html about.html contact.html \
  faq.html robots.txt favicon.ico sitemap.xml styles.css app.js logo.svg manifest.json
tmpfs "$VOL/kubernetes.io~secret/tls-cert" "mode=0755,size=1m"               # kubelet: a tmpfs per secret
atomic "$VOL/kubernetes.io~secret/tls-cert" tls.crt tls.key ca.crt
tmpfs "$VOL/kubernetes.io~projected/kube-api-access-7x2lq" "mode=0755,size=1m"
atomic "$VOL/kubernetes.io~projected/kube-api-access-7x2lq" token ca.crt namespace

# --- a Docker volume used as a hostPath
mkdir -p /var/lib/docker/volumes/shop-uploads/_data
echo upload > /var/lib/docker/volumes/shop-uploads/_data/README

# --- a raw block volume: a block device node with the numbers of a real block
# device of this machine (a loop device when there is one)
majmin=
for f in /sys/dev/block/7:*; do [ -e "$f" ] && { majmin=${f##*/}; break; }; done
if [ -z "$majmin" ]; then
  for f in /sys/dev/block/*; do [ -e "$f" ] && { majmin=${f##*/}; break; }; done
fi
majmin=${majmin:-7:0}
mkdir -p "$PUBLISH"
mknod "$PUBLISH/$POD_UID" b "${majmin%%:*}" "${majmin##*:}"

# --- the image's layers: the tardev snapshotter keeps each layer as a tar
# file (with its dm-verity tree) that kata hot-plugs as a block device
# (rootfs.json marks them block_device=file and is-layer)
mkdir -p "$LAYERS"
for l in 77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2 \
         95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06 \
         a0e70458d19e37e14d6388030a017c587283e2fb6ef10c0744cad0294c47e8f8; do
  tar -cf "$LAYERS/$l" -C "$here/pod" rootfs.json
done

# --- the container's bundle (config.json's root.path): the root filesystem's
# mount point, which kata's shim leaves unmounted for a layered root
mkdir -p "$BUNDLE/rootfs"

# --- the second example (examples/pod-direct): a database pod whose data
# volume a CSI driver assigned directly to the VM with `kata-runtime
# direct-volume add`: a mountInfo.json under the direct-volumes directory,
# named by the volume's source in base64url (padded), names the block device
# (here the raw block volume's node above) that replaces the mount.
DPOD=/var/lib/kubelet/pods/0d6f5e2a-8b1c-4e3d-9a7f-5c2b1e0d9f84
DSRC=$DPOD/volumes/kubernetes.io~csi/pvc-7c1e9d2a-4b6f-4a3e-8d5c-9f0e1b2a3c4d/mount
DBUNDLE=/run/containerd/io.containerd.runtime.v2.task/k8s.io/4be1c0d7a9e2f3b5c6d8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1
mkdir -p "$DSRC" "$DBUNDLE/rootfs"   # the nydus root is not mounted on the host
printf '127.0.0.1\tlocalhost\n10.244.2.9\tdb-0\n' > "$DPOD/etc-hosts"
b64=$(printf %s "$DSRC" | base64 -w0 | tr '+/' '-_')
mkdir -p "/run/kata-containers/shared/direct-volumes/$b64"
printf '{"volume-type":"block","device":"%s","fstype":"ext4","metadata":{"fsGroup":"999"},"options":["rw"]}\n' \
  "$PUBLISH/$POD_UID" > "/run/kata-containers/shared/direct-volumes/$b64/mountInfo.json"

