-- 50-kata-defaults.lua -- the settings kata-containers ships today, for a
-- runtime configured with kata's own defaults (src/runtime/Makefile,
-- configuration-qemu.toml). katamount's bundled rules keep the seed
-- runtime's defaults; add this directory to use kata's:
--
--   KATAMOUNT_RULES_PATH=/path/to/katamount/examples/rules katamount plan ...
--   katamount.new{ rules_path = { ".../examples/rules" } }
--
-- (the directory and this file must not be writable by group or others,
-- and owned by root or the engine's user; copy them elsewhere if not).
-- A runtime that passes its settings in ctx per call overrides these.

-- DEFDISABLEGUESTEMPTYDIR := true: a disk emptyDir is shared with the
-- guest (so the kubelet can enforce its sizeLimit), not made in the guest.
params.disable_guest_empty_dir = true

-- DEFEMPTYDIRMODE := shared-fs (confidential configurations use
-- block-encrypted: DEFEMPTYDIRMODE_COCO).
params.emptydir_mode = "shared-fs"

-- DEFSHAREDFS_QEMU_VIRTIOFS := virtio-fs (TDX, SNP and other confidential
-- configurations use "none": files are then copied into the guest).
params.shared_fs = "virtio-fs"

-- disable_block_device_use = false in every shipped configuration.
params.disable_block_device_use = false
