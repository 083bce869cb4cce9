/*
 * kernel_uapi.h -- the Linux UAPI that statmount.c needs and Debian 12's
 * 6.1 headers lack: statx mount bits, statmount(2) and listmount's request
 * and answer structures, mount_setattr(2) attribute bits, the super-block
 * and propagation flags statmount reports. Values and layouts are the
 * kernel's ABI (include/uapi/linux/mount.h, stat.h), as of Linux 6.18.
 *
 * Included after katamount.h, by statmount.c only.
 */
#ifndef KATAMOUNT_KERNEL_UAPI_H
#define KATAMOUNT_KERNEL_UAPI_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>


#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif

#ifndef SYS_statmount
#if defined(__alpha__)
#define SYS_statmount 567
#else
#define SYS_statmount 457           /* the unified syscall table */
#endif
#endif

#ifndef STATMOUNT_SB_BASIC
#define STATMOUNT_SB_BASIC       0x00000001U
#define STATMOUNT_MNT_BASIC      0x00000002U
#define STATMOUNT_PROPAGATE_FROM 0x00000004U
#define STATMOUNT_MNT_ROOT       0x00000008U
#define STATMOUNT_MNT_POINT      0x00000010U
#define STATMOUNT_FS_TYPE        0x00000020U
#endif
#ifndef STATMOUNT_MNT_OPTS
#define STATMOUNT_MNT_OPTS       0x00000080U
#endif
#ifndef STATMOUNT_FS_SUBTYPE
#define STATMOUNT_FS_SUBTYPE     0x00000100U
#define STATMOUNT_SB_SOURCE      0x00000200U
#endif
#ifndef STATMOUNT_SUPPORTED_MASK
#define STATMOUNT_SUPPORTED_MASK 0x00001000U
#endif

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY      0x00000001
#define MOUNT_ATTR_NOSUID      0x00000002
#define MOUNT_ATTR_NODEV       0x00000004
#define MOUNT_ATTR_NOEXEC      0x00000008
#define MOUNT_ATTR__ATIME      0x00000070
#define MOUNT_ATTR_RELATIME    0x00000000
#define MOUNT_ATTR_NOATIME     0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME  0x00000080
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP       0x00100000
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

/* Super-block flags statmount reports (sb_flags). */
#define KM_SB_RDONLY      0x00000001U
#define KM_SB_SYNCHRONOUS 0x00000010U
#define KM_SB_DIRSYNC     0x00000080U
#define KM_SB_LAZYTIME    0x02000000U

/* Propagation flags (mnt_propagation). */
#define KM_MS_UNBINDABLE (1U << 17)
#define KM_MS_SLAVE      (1U << 19)
#define KM_MS_SHARED     (1U << 20)

/* struct mnt_id_req, version 0 (24 bytes: what Linux 6.8 takes). */
struct km_mnt_id_req {
    uint32_t size;
    uint32_t spare;
    uint64_t mnt_id;
    uint64_t param;
};
#define KM_MNT_ID_REQ_SIZE_VER0 24

/* struct statmount as of Linux 6.18; the fixed part is 512 bytes in every
 * version, the strings follow it (offsets are relative to str). */
struct km_statmount {
    uint32_t size;
    uint32_t mnt_opts;
    uint64_t mask;
    uint32_t sb_dev_major;
    uint32_t sb_dev_minor;
    uint64_t sb_magic;
    uint32_t sb_flags;
    uint32_t fs_type;
    uint64_t mnt_id;
    uint64_t mnt_parent_id;
    uint32_t mnt_id_old;
    uint32_t mnt_parent_id_old;
    uint64_t mnt_attr;
    uint64_t mnt_propagation;
    uint64_t mnt_peer_group;
    uint64_t mnt_master;
    uint64_t propagate_from;
    uint32_t mnt_root;
    uint32_t mnt_point;
    uint64_t mnt_ns_id;
    uint32_t fs_subtype;
    uint32_t sb_source;
    uint32_t opt_num;
    uint32_t opt_array;
    uint32_t opt_sec_num;
    uint32_t opt_sec_array;
    uint64_t supported_mask;
    uint32_t mnt_uidmap_num;
    uint32_t mnt_uidmap;
    uint32_t mnt_gidmap_num;
    uint32_t mnt_gidmap;
    uint64_t spare2[43];
    /* char str[] follows */
};
#define KM_STATMOUNT_FIXED 512
typedef char km_statmount_size_check[sizeof(struct km_statmount) == KM_STATMOUNT_FIXED ? 1 : -1];

#endif /* KATAMOUNT_KERNEL_UAPI_H */
