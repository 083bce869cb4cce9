-- katamount: mount decisions for VM-based container runtimes, as editable Lua
-- rules over a C core. Build and install from a checkout with
--   LUAROCKS_CONFIG=luarocks-offline.lua luarocks --lua-version 5.4 make
-- (luarocks-offline.lua marks the Debian packages lua-cjson and lua-argparse
-- as provided, for a machine without a rocks server; `make install` does it).
rockspec_format = "3.0"
package = "katamount"
-- "scm-1": a build from the checkout. A release rock is named after the
-- core's KM_VERSION (c/katamount.h), as "<KM_VERSION>-1" (spec/rock_spec.lua).
version = "scm-1"
source = {
  url = "git+file:///katamount",
  branch = "main",
}
description = {
  summary = "Mount decisions for VM-based container runtimes, as Lua rules over a C core",
  detailed = [[
For every mount of a container, decide how a VM-based runtime (Kata
Containers style) handles it: skip it, make a tmpfs in the guest, share it
over virtio-fs, watch and copy it, hot-plug it as a block device, or mount
it as an overlay layer. The decision table is a set of editable Lua rule
files, evaluated in a sandbox; a C core does the system work (stat, the
mount-point walk, sysfs, bounded directory counting, the mount table).
]],
  license = "Apache-2.0",
  labels = { "containers", "kata", "mount", "linux" },
}
supported_platforms = { "linux" }
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson",
  "argparse",
}
build = {
  type = "builtin",
  modules = {
    -- the C core: never linked against liblua (the interpreter provides it)
    ["katamount.core"] = {
      sources = {
        "c/boundary.c",
        "c/core.c",
        "c/count.c",
        "c/dest.c",
        "c/dirents.c",
        "c/encode.c",
        "c/errors.c",
        "c/listdir.c",
        "c/mountentry.c",
        "c/mountindex.c",
        "c/mountinfo.c",
        "c/mounttable.c",
        "c/ocimount.c",
        "c/path.c",
        "c/readfile.c",
        "c/rulefacts.c",
        "c/rulelib.c",
        "c/rulematch.c",
        "c/ruleruntime.c",
        "c/rulestate.c",
        "c/rulestring.c",
        "c/rulefiles.c",
        "c/rulelisting.c",
        "c/ruletrust.c",
        "c/stat.c",
        "c/statmount.c",
        "c/sysfs.c",
        "c/term.c",
        "c/treesize.c",
      },
      incdirs = { "c" },
    },
    ["katamount.agent"] = "lua/katamount/agent.lua",
    -- the command: one module per command and per output form
    ["katamount.cli"] = "lua/katamount/cli/init.lua",
    ["katamount.cli.classify"] = "lua/katamount/cli/classify.lua",
    ["katamount.cli.completion"] = "lua/katamount/cli/completion.lua",
    ["katamount.cli.decisions"] = "lua/katamount/cli/decisions.lua",
    ["katamount.cli.diff"] = "lua/katamount/cli/diff.lua",
    ["katamount.cli.engine"] = "lua/katamount/cli/engine.lua",
    ["katamount.cli.input"] = "lua/katamount/cli/input.lua",
    ["katamount.cli.json"] = "lua/katamount/cli/json.lua",
    ["katamount.cli.mounts"] = "lua/katamount/cli/mounts.lua",
    ["katamount.cli.plan"] = "lua/katamount/cli/plan.lua",
    ["katamount.cli.rules"] = "lua/katamount/cli/rules.lua",
    ["katamount.cli.table"] = "lua/katamount/cli/table.lua",
    ["katamount.cli.util"] = "lua/katamount/cli/util.lua",
    ["katamount.cli.why"] = "lua/katamount/cli/why.lua",
    ["katamount.compare"] = "lua/katamount/compare.lua",
    ["katamount.decide"] = "lua/katamount/decide.lua",
    ["katamount.directvolume"] = "lua/katamount/directvolume.lua",
    ["katamount.engine"] = "lua/katamount/engine.lua",
    ["katamount.facts"] = "lua/katamount/facts.lua",
    ["katamount"] = "lua/katamount/init.lua",
    ["katamount.layers"] = "lua/katamount/layers.lua",
    ["katamount.loader"] = "lua/katamount/loader.lua",
    ["katamount.names"] = "lua/katamount/names.lua",
    ["katamount.ruleset"] = "lua/katamount/ruleset.lua",
    ["katamount.sandbox"] = "lua/katamount/sandbox.lua",
  },
  -- the manual page katamount(1), in the rock's directory
  -- ($(luarocks show --rock-dir katamount)/man/man1/katamount.1)
  copy_directories = { "man" },
  install = {
    -- the bundled rules, found by the engine beside its own file
    lua = {
      ["katamount.rules.00-settings"] = "rules/00-settings.lua",
      ["katamount.rules.10-layers"] = "rules/10-layers.lua",
      ["katamount.rules.20-system"] = "rules/20-system.lua",
      ["katamount.rules.30-kubernetes"] = "rules/30-kubernetes.lua",
      ["katamount.rules.40-block"] = "rules/40-block.lua",
      ["katamount.rules.50-guest-mounts"] = "rules/50-guest-mounts.lua",
      ["katamount.rules.60-devices"] = "rules/60-devices.lua",
      ["katamount.rules.70-watchable"] = "rules/70-watchable.lua",
      ["katamount.rules.80-shared"] = "rules/80-shared.lua",
      ["katamount.rules.90-rootfs"] = "rules/90-rootfs.lua",
      ["katamount.rules.guest-00-common"] = "rules/guest-00-common.lua",
      ["katamount.rules.guest-block"] = "rules/guest-block.lua",
      ["katamount.rules.guest-block-emptydir"] = "rules/guest-block-emptydir.lua",
      ["katamount.rules.guest-direct-volume"] = "rules/guest-direct-volume.lua",
      ["katamount.rules.guest-ephemeral"] = "rules/guest-ephemeral.lua",
      ["katamount.rules.guest-hugepages"] = "rules/guest-hugepages.lua",
      ["katamount.rules.guest-layers"] = "rules/guest-layers.lua",
      ["katamount.rules.guest-local"] = "rules/guest-local.lua",
      ["katamount.rules.guest-rootfs"] = "rules/guest-rootfs.lua",
      ["katamount.rules.guest-rootfs-erofs"] = "rules/guest-rootfs-erofs.lua",
      ["katamount.rules.guest-rootfs-nydus"] = "rules/guest-rootfs-nydus.lua",
      ["katamount.rules.guest-rootfs-pull"] = "rules/guest-rootfs-pull.lua",
      ["katamount.rules.guest-shared"] = "rules/guest-shared.lua",
      ["katamount.rules.guest-shm"] = "rules/guest-shm.lua",
      ["katamount.rules.guest-unchanged"] = "rules/guest-unchanged.lua",
      ["katamount.rules.guest-watchable"] = "rules/guest-watchable.lua",
    },
    bin = {
      katamount = "bin/katamount",
    },
  },
}
