-- spec/cli_spec.lua -- the `katamount` command, run as a process
-- (`lua5.4 bin/katamount ...`, the core from $KATAMOUNT_BUILD): every command,
-- the table and JSON outputs on the example pod, every exit status and every
-- bad-input message; `runc spec`'s and `crun spec`'s configs (fixtures
-- written from their defaults) as bundles, a spec on standard input, what the
-- audit cannot see, the table at widths 60, 100, 200, on a pipe and on a
-- pseudo-terminal, -o/--no-headers/--wide, why, JSON's bytes, completion and
-- the man page. The example pod's host side (examples/setup.sh) is built in a
-- nested private mount namespace, so its mounts never reach other specs.
local lu = require("luaunit")
local H = require("helpers")
local cjson = require("cjson")

local q = H.q

local CONFIG = "examples/pod/config.json"
local ROOTFS = "examples/pod/rootfs.json"
local POD = "/var/lib/kubelet/pods/5b0e7c1a-93f4-4d2e-8a61-2c7f0b9d4e38"

local slurp, lines, max_width, command, km = H.slurp, H.lines, H.max_width, H.km_command, H.km

--- H.assert_one_line, and nothing on stdout.
local function assert_one_line(r, code, prefix, ...)
  H.assert_one_line(r, code, prefix, ...)
  lu.assertEquals(r.out, "")
end

---------------------------------------------------------------------------
-- The example pod, planned once in a namespace of its own.
---------------------------------------------------------------------------

local PLAN = "plan " .. CONFIG .. " --rootfs " .. ROOTFS
local EXAMPLE_RUNS = {
  table = { PLAN, "COLUMNS=0" },
  narrow80 = { PLAN, "COLUMNS=80" },
  narrow100 = { PLAN, "COLUMNS=100" },
  narrow44 = { PLAN, "COLUMNS=44" },
  json = { PLAN .. " --json" },
  explain = { PLAN .. " --explain", "COLUMNS=0" },
  explain_json = { PLAN .. " --json --explain" },
  no_rootfs_json = { "plan " .. CONFIG .. " --json" },
  flags_json = { "plan " .. CONFIG .. " --json --rootfs-type fuse3.kata-overlay"
    .. " --rootfs-option io.katacontainers.fs-opt.layer=/var/lib/containerd/l1.erofs,erofs,ro"
    .. " --rootfs-option io.katacontainers.fs-opt.layer=/var/lib/containerd/l2.erofs,erofs" },
  no_local_json = { PLAN .. " --json --set disable_guest_empty_dir=true" },
  no_block_json = { PLAN .. " --json --set disable_block_device_use=true" },
  keep_local_json = { PLAN .. " --json --set disable_guest_empty_dir=false" },
  unknown_set = { PLAN .. " --json --set no_such_setting=2" },
  classify_cm = { "classify --json --source " .. POD .. "/volumes/kubernetes.io~configmap/nginx-conf"
    .. " --destination /etc/nginx/conf.d --option rbind --option ro" },
  classify_mem = { "classify --source " .. POD .. "/volumes/kubernetes.io~empty-dir/cache"
    .. " --destination /cache --explain", "COLUMNS=0" },
  mounts = { "mounts", "COLUMNS=0" },
  direct_json = { "plan examples/pod-direct/config.json --rootfs examples/pod-direct/rootfs.json"
    .. " --set shared_fs=virtio-fs-nydus --json" },
  direct_agent = { "plan examples/pod-direct/config.json --rootfs examples/pod-direct/rootfs.json"
    .. " --set shared_fs=virtio-fs-nydus --agent --container-id db-0 --sandbox-id pod-db" },
  agent = { PLAN .. " --agent" },
  mounts_json = { "mounts --json" },
}

local example_cache

local function example()
  H.need_mounts()
  if example_cache then
    if example_cache.failed then error(example_cache.failed) end
    return example_cache
  end
  local dir = H.sh("mktemp -d " .. q(H.scratch_open() .. "/cli-example.XXXXXX"))
  local script = { "set -e", "cd " .. q(H.root), "env -u LD_PRELOAD examples/setup.sh", "set +e" }
  for name, c in pairs(EXAMPLE_RUNS) do
    local base = q(dir .. "/" .. name)
    script[#script + 1] = ("%s >%s.out 2>%s.err; echo $? >%s.rc"):format(command(c[1], c[2]),
      base, base, base)
  end
  H.write(dir .. "/run.sh", table.concat(script, "\n") .. "\n")
  -- not H.sh, which drops LD_PRELOAD (katamount needs it to load an ASan core)
  local p = assert(io.popen("timeout 300 unshare -m --propagation private sh " .. q(dir .. "/run.sh")
    .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  if not ok then
    H.run("rm -rf " .. q(dir))
    example_cache = { failed = "examples/setup.sh or a run failed:\n" .. out }
    error(example_cache.failed)
  end
  example_cache = {}
  for name in pairs(EXAMPLE_RUNS) do
    local base = dir .. "/" .. name
    example_cache[name] = { out = slurp(base .. ".out"), err = slurp(base .. ".err"),
                            code = tonumber(slurp(base .. ".rc"):match("%d+")) }
  end
  H.run("rm -rf " .. q(dir))
  return example_cache
end

local function decoded(r)
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(r.err, "")
  local ok, doc = pcall(cjson.decode, r.out)
  lu.assertTrue(ok, "not one JSON document: " .. tostring(doc) .. "\n" .. r.out)
  return doc
end

local function by_destination(doc)
  local t = {}
  for _, d in ipairs(doc.mounts) do t[d.destination] = d end
  return t
end

-- What the bundled rules decide for the example pod (DESIGN.md's table).
local EXPECTED = {
  ["/proc"] = { "passthrough", "guest-mount" },
  ["/dev"] = { "passthrough", "guest-mount" },
  ["/dev/pts"] = { "passthrough", "guest-mount" },
  ["/dev/mqueue"] = { "passthrough", "guest-mount" },
  ["/sys"] = { "passthrough", "guest-mount" },
  ["/sys/fs/cgroup"] = { "passthrough", "guest-mount" },
  ["/etc/nginx/conf.d"] = { "watchable", "share-watchable" },     -- configmap, 5 files
  ["/etc/nginx/tls"] = { "watchable", "share-watchable" },        -- secret, 7 files
  ["/usr/share/nginx/html"] = { "shared", "share" },              -- configmap, 25 files
  ["/var/cache/nginx"] = { "ephemeral", "guest-tmpfs" },          -- emptyDir on tmpfs
  ["/scratch"] = { "local", "guest-local" },                      -- emptyDir on disk
  ["/var/lib/uploads"] = { "shared", "share" },                   -- Docker volume
  ["/host/proc"] = { "system", "skip" },                          -- hostPath of the host's /proc
  ["/dev/fuse"] = { "host-device", "skip" },
  ["/dev/data0"] = { "block", "hotplug-block" },
  ["/etc/hosts"] = { "shared", "share" },
  ["/dev/termination-log"] = { "shared", "share" },
  ["/etc/hostname"] = { "shared", "share" },
  ["/etc/resolv.conf"] = { "shared", "share" },
  ["/dev/shm"] = { "shm", "guest-shm" },
  ["/var/run/secrets/kubernetes.io/serviceaccount"] = { "shared", "share" },
}

-- The tardev snapshotter's layers of examples/pod/rootfs.json (tar files)
local LAYERS = { "77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2",
  "95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06",
  "a0e70458d19e37e14d6388030a017c587283e2fb6ef10c0744cad0294c47e8f8" }

local TestCliExample = {}

function TestCliExample.test_json_is_one_document_with_every_decision()
  local r = example().json
  local doc = decoded(r)
  lu.assertEquals(#doc.mounts, 21)
  local spec = cjson.decode(H.read(CONFIG))
  for i, d in ipairs(doc.mounts) do
    -- the spec's order, and the six fields of every decision
    lu.assertEquals(d.destination, spec.mounts[i].destination)
    lu.assertEquals(d.source, spec.mounts[i].source)
    lu.assertEquals(d.type, spec.mounts[i].type)
    for _, k in ipairs({ "class", "action", "rule" }) do
      lu.assertIsString(d[k], d.destination .. " has no " .. k)
    end
    lu.assertNil(d.error)
  end
  lu.assertIsTable(doc.rootfs)
  lu.assertIsTable(doc.layers)
end

function TestCliExample.test_json_classes_of_the_example_pod()
  local got = by_destination(decoded(example().json))
  for dest, want in pairs(EXPECTED) do
    lu.assertNotNil(got[dest], dest)
    lu.assertEquals({ got[dest].class, got[dest].action }, want, dest)
  end
end

function TestCliExample.test_json_rootfs_and_layers()
  local doc = decoded(example().json)
  lu.assertEquals(doc.rootfs.action, "overlay")
  lu.assertEquals(#doc.layers, 3)
  for i, l in ipairs(doc.layers) do
    lu.assertEquals(l.class, "layer")
    lu.assertEquals(l.action, "overlay-layer")
    lu.assertEquals(l.type, "tar")
    lu.assertStrContains(l.source, LAYERS[i])
    lu.assertEquals(l.destination, "/run/kata-containers/sandbox/layers/" .. LAYERS[i])
  end
end

function TestCliExample.test_json_layers_from_flags()
  local doc = decoded(example().flags_json)
  lu.assertEquals(doc.rootfs.action, "overlay")
  lu.assertEquals(#doc.layers, 2)
  lu.assertEquals(doc.layers[1].destination, "/run/kata-containers/sandbox/layers/l1.erofs")
  lu.assertEquals(doc.layers[2].destination, "/run/kata-containers/sandbox/layers/l2.erofs")
end

function TestCliExample.test_json_empty_layers_is_an_array()
  local r = example().no_rootfs_json
  local doc = decoded(r)
  lu.assertStrContains(r.out, '"layers": []')
  lu.assertEquals(#doc.layers, 0)
  lu.assertNotEquals(doc.rootfs.action, "overlay") -- no layers: share or hotplug-block
end

function TestCliExample.test_set_changes_the_decision()
  local no_local = by_destination(decoded(example().no_local_json))
  lu.assertNotEquals(no_local["/scratch"].class, "local")
  lu.assertEquals(no_local["/scratch"].action, "share")
  lu.assertEquals(no_local["/var/cache/nginx"].class, "ephemeral") -- tmpfs still is
  local no_block = by_destination(decoded(example().no_block_json))
  lu.assertNotEquals(no_block["/dev/data0"].class, "block")
  lu.assertEquals(by_destination(decoded(example().json))["/dev/data0"].class, "block")
  -- "false" is the boolean false (the string "false" would be true)
  lu.assertEquals(by_destination(decoded(example().keep_local_json))["/scratch"].class, "local")
  -- a name no rule file declares: a usage error, no plan
  local r = example().unknown_set
  lu.assertEquals(r.code, 2, r.err)
  lu.assertEquals(lines(r.err), { "katamount plan: --set no_such_setting=2: no rule file declares a param"
    .. " 'no_such_setting' (katamount rules lists them) (see 'katamount plan --help')" })
  lu.assertEquals(r.out, "")
end

-- --set parses by the declared type: booleans are true/false only, an
-- integer is an integer, a list is comma-separated, a string with values is
-- one of them; a typo names the closest param.
function TestCliExample.test_set_parses_by_the_declared_type()
  for _, c in ipairs({
    { "--set disable_guest_empty_dir=yes", "param 'disable_guest_empty_dir' expects true or false" },
    { "--set disable_guest_empty_dir=1", "param 'disable_guest_empty_dir' expects true or false" },
    { "--set watchable_max_files=8.5", "param 'watchable_max_files' expects an integer" },
    { "--set watchable_max_files=lots", "param 'watchable_max_files' expects an integer" },
    { "--set shared_fs=virtiofs", "param 'shared_fs' is one of virtio-fs, virtio-fs-nydus, virtio-9p, none" },
    { "--set watchable_max_file=16", "no rule file declares a param 'watchable_max_file'"
      .. " (did you mean 'watchable_max_files'?)" },
    { "--set kubernetes_volume_kinds=x", "param 'kubernetes_volume_kinds' is a map: set it in a rules file" },
  }) do
    local r = km("classify --source /tmp --destination /x " .. c[1])
    assert_one_line(r, 2, "katamount classify: ", c[2])
    -- a value of the wrong type names where its param is declared
    if not c[2]:find("no rule file", 1, true) then lu.assertStrContains(r.err, "rules/") end
  end
  -- a good one of each type changes the decision
  local r = km("classify --source /proc/1 --destination /p --json --set system_prefixes=/srv,/opt")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(cjson.decode(r.out).class, "shared")
  r = km("classify --source /srv/x --destination /p --json --set system_prefixes=/srv,/opt")
  lu.assertEquals(cjson.decode(r.out).class, "system")
end

-- The second example (examples/pod-direct), each decision as kata's code
-- makes it: mounts that are not binds go to the agent (mountSharedDirMounts
-- skips them), /dev/shm is the guest's (kata_agent.go handleShm), the data
-- volume's mountInfo.json names a block device that is hot-plugged
-- (pkg/direct-volume VolumeMountInfo, container.go createBlockDevices),
-- /etc/hosts is shared (fs_share_linux.go ShareFile), the nydus root is
-- neither mounted on the host nor hot-plugged (IsNydusRootFSType).
function TestCliExample.test_the_direct_volume_example_decides_as_kata()
  local r = example().direct_json
  lu.assertEquals(r.code, 0, r.err)
  local doc = cjson.decode(r.out)
  local got = {}
  for _, d in ipairs(doc.mounts) do got[#got + 1] = { d.destination, d.class, d.action } end
  lu.assertEquals(got, {
    { "/proc", "passthrough", "guest-mount" },
    { "/dev", "passthrough", "guest-mount" },
    { "/sys", "passthrough", "guest-mount" },
    { "/dev/shm", "shm", "guest-shm" },
    { "/var/lib/postgresql/data", "direct-volume", "hotplug-block" },
    { "/etc/hosts", "shared", "share" },
  })
  lu.assertEquals(doc.mounts[5].direct_volume.fstype, "ext4")
  lu.assertEquals(doc.mounts[5].direct_volume.fs_group, 999)
  lu.assertEquals({ doc.rootfs.class, doc.rootfs.action }, { "rootfs", "nydus" })
end

-- Both examples end to end as kata's agent gets them: every decision
-- translated, nothing failed; the direct volume a block storage, the nydus
-- root an overlay of the RAFS (shareRootFilesystemWithNydus)
function TestCliExample.test_agent_documents_of_the_examples()
  for _, name in ipairs({ "agent", "direct_agent" }) do
    local r = example()[name]
    lu.assertEquals(r.code, 0, r.err)
    local doc = cjson.decode(r.out)
    lu.assertEquals(doc.untranslated, {}, name)
    lu.assertEquals(doc.errors, {}, name)
    lu.assertTrue(#doc.storages > 0, name)
  end
  local doc = cjson.decode(example().direct_agent.out)
  lu.assertEquals(doc.root, { path = "/run/kata-containers/shared/containers/db-0/rootfs" })
  local drivers = {}
  for _, s in ipairs(doc.storages) do drivers[#drivers + 1] = s.driver end
  lu.assertEquals(drivers, { "overlayfs", "scsi" })
  lu.assertEquals(doc.storages[1].options[3],
    "lowerdir=/run/kata-containers/shared/rafs/db-0/lowerdir")
  lu.assertEquals(doc.storages[2].fstype, "ext4")
  lu.assertEquals(doc.storages[2].fs_group, { group_id = 999, group_change_policy = "Always" })
end

function TestCliExample.test_table_has_every_mount_rootfs_and_layers()
  local r = example().table
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(r.err, "")
  local l = lines(r.out)
  lu.assertStrMatches(l[1], "^DESTINATION%s+SOURCE%s+TYPE%s+CLASS%s+ACTION%s+RULE$")
  -- columns aligned: every field starts where its title does
  local col = {}
  for _, t in ipairs({ "SOURCE", "TYPE", "CLASS", "ACTION", "RULE" }) do col[t] = l[1]:find(t, 1, true) end
  local seen = {}
  for _, line in ipairs(l) do
    local dest = line:match("^(/%S*)")
    if dest and EXPECTED[dest] then
      seen[dest] = true
      local class = line:sub(col.CLASS):match("^(%S+)")
      local action = line:sub(col.ACTION):match("^(%S+)")
      lu.assertEquals({ class, action }, EXPECTED[dest], line)
      lu.assertEquals(line:sub(col.SOURCE - 2, col.SOURCE - 1), "  ", line)
    end
  end
  for dest in pairs(EXPECTED) do lu.assertTrue(seen[dest], dest .. " missing from the table") end
  -- full paths when nothing limits the width
  lu.assertStrContains(r.out, POD .. "/volumes/kubernetes.io~configmap/nginx-conf")
  lu.assertStrContains(r.out, "root filesystem")
  for _, name in ipairs(LAYERS) do
    lu.assertStrContains(r.out, "/run/kata-containers/sandbox/layers/" .. name)
  end
end

function TestCliExample.test_table_fits_narrow_terminals()
  for name, width in pairs({ narrow100 = 100, narrow80 = 80, narrow44 = 44 }) do
    local r = example()[name]
    lu.assertEquals(r.code, 0, r.err)
    lu.assertTrue(max_width(r.out) <= width,
      ("%s: a line is %d wide:\n%s"):format(name, max_width(r.out), r.out))
    -- every destination's volume name still readable (long paths elided in the middle)
    lu.assertStrContains(r.out, "nginx-conf")
    lu.assertStrContains(r.out, "…")
    for _, want in ipairs({ "watchable", "guest-tmpfs", "hotplug-block", "overlay-layer" }) do
      lu.assertStrContains(r.out, want)
    end
  end
end

function TestCliExample.test_explain_shows_every_rule_tried()
  local r = example().explain
  lu.assertEquals(r.code, 0, r.err)
  local doc = decoded(example().explain_json)
  for _, d in ipairs(doc.mounts) do
    lu.assertIsTable(d.trace, d.destination)
    lu.assertTrue(#d.trace >= 1, d.destination)
  end
  -- the table prints the rules tried under each mount: more lines than rows
  local n = #lines(r.out)
  lu.assertTrue(n > 2 * #doc.mounts, "explain adds lines under each mount")
  lu.assertStrContains(r.out, "rules tried")
  -- a decision's rule appears in its trace
  local cm = by_destination(doc)["/etc/nginx/conf.d"]
  local found = false
  for _, t in ipairs(cm.trace) do
    if (t.rule or t.name) == cm.rule then found = true end
  end
  lu.assertTrue(found, "the deciding rule is in the trace")
  lu.assertNil(by_destination(decoded(example().json))["/etc/nginx/conf.d"].trace)
end

function TestCliExample.test_classify()
  local d = decoded(example().classify_cm)
  lu.assertEquals(d.class, "watchable")
  lu.assertEquals(d.action, "share-watchable")
  lu.assertEquals(d.destination, "/etc/nginx/conf.d")
  lu.assertIsString(d.rule)
  local r = example().classify_mem
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out, "ephemeral")
  lu.assertStrContains(r.out, "guest-tmpfs")
  lu.assertStrContains(r.out, "rules tried")
end

function TestCliExample.test_mounts_shows_the_example_mounts()
  local r = example().mounts
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(lines(r.out)[1], "^MOUNT POINT%s+FSTYPE%s+SOURCE%s+MAJ:MIN%s+OPTIONS$")
  lu.assertStrContains(r.out, POD .. "/volumes/kubernetes.io~empty-dir/cache")
  local doc = decoded(example().mounts_json)
  local cache
  for _, m in ipairs(doc.mounts) do
    if m.mount_point == POD .. "/volumes/kubernetes.io~empty-dir/cache" then cache = m end
  end
  lu.assertNotNil(cache)
  lu.assertEquals(cache.fstype, "tmpfs")
  lu.assertIsNumber(cache.major)
  lu.assertIsTable(cache.options)
end

function TestCliExample.test_make_demo()
  H.need_mounts()
  lu.skipIf(os.getenv("KATAMOUNT_SANITIZED") ~= nil, "make demo runs the plain build")
  -- a make of its own: not the flags of a make that may have started us (-w)
  local out, ok = H.run(("cd %s && COLUMNS=120 timeout 300 env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS "
    .. "make -s --no-print-directory demo BUILD=%s")
    :format(q(H.root), q(os.getenv("KATAMOUNT_BUILD") or "build")))
  lu.assertTrue(ok, out)
  lu.assertStrMatches(out, "^DESTINATION.*")
  lu.assertStrContains(out, "share-watchable")
  lu.assertStrContains(out, "overlay-layer")
  lu.assertTrue(max_width(out .. "\n") <= 120)
  -- nothing leaked to this namespace
  local _, leaked = H.run("findmnt -rn -o TARGET | grep -q kubelet/pods")
  lu.assertNotEquals(leaked, true)
end

---------------------------------------------------------------------------
-- Usage, help, version.
---------------------------------------------------------------------------

local TestCliUsage = {}

function TestCliUsage.test_help_for_every_command()
  local r = km("--help")
  lu.assertEquals(r.code, 0)
  for _, c in ipairs({ "plan", "classify", "rules", "mounts", "Exit status" }) do
    lu.assertStrContains(r.out, c)
  end
  for _, c in ipairs({ "plan", "classify", "rules", "mounts" }) do
    r = km(c .. " --help")
    lu.assertEquals(r.code, 0, c)
    lu.assertStrContains(r.out, "Usage: katamount " .. c)
    lu.assertEquals(r.err, "")
  end
  r = km("plan --help")
  for _, o in ipairs({ "--rootfs-option", "--rootfs-type", "--set", "--json", "--explain", "--rules" }) do
    lu.assertStrContains(r.out, o)
  end
end

function TestCliUsage.test_version()
  local r = km("--version")
  lu.assertEquals(r.code, 0)
  lu.assertEquals(r.out, "katamount " .. require("katamount.core")._VERSION .. "\n")
end

function TestCliUsage.test_bad_usage_exits_2_with_one_line()
  for _, c in ipairs({
    { "", "katamount: ", "a command is required" },
    { "frobnicate", "katamount: ", "unknown command 'frobnicate'" },
    { "plan", "katamount plan: ", "missing argument 'config'" },
    { "plan a.json b.json", "katamount plan: ", "too many arguments" },
    { "plan " .. CONFIG .. " --bogus", "katamount plan: ", "unknown option '--bogus'" },
    { "classify --source /a", "katamount classify: ", "missing option '--destination'" },
    { "classify --destination /a", "katamount classify: ", "missing option '--source'" },
    { "plan " .. CONFIG .. " --set nope", "katamount plan: ", "--set nope: expected KEY=VALUE" },
    { "plan " .. CONFIG .. " --set =1", "katamount plan: ", "expected KEY=VALUE" },
    { "plan " .. CONFIG .. " --set 'a b=1'", "katamount plan: ", "expected KEY=VALUE" },
    { "classify --source /a --destination /b --set x", "katamount classify: ", "expected KEY=VALUE" },
    { "mounts a b", "katamount mounts: ", "too many arguments" },
  }) do
    assert_one_line(km(c[1]), 2, c[2], c[3])
  end
end

---------------------------------------------------------------------------
-- Bad input: one line naming the file and what is wrong, exit 2.
---------------------------------------------------------------------------

local TestCliBadInput = {}

function TestCliBadInput:setUp()
  self.dir = H.tmpdir("cli")
end

function TestCliBadInput.tearDown()
  H.cleanup()
end

function TestCliBadInput:spec(name, text)
  return H.write(self.dir .. "/" .. name, text)
end

function TestCliBadInput:test_missing_file()
  local f = self.dir .. "/nope.json"
  assert_one_line(km("plan " .. q(f)), 2, "katamount: " .. f .. ": ", "No such file")
end

function TestCliBadInput:test_directory()
  assert_one_line(km("plan " .. q(self.dir)), 2, "katamount: " .. self.dir .. ": ", "directory")
end

function TestCliBadInput:test_not_json()
  for name, text in pairs({ ["garbage.json"] = "mounts: [/proc]\n", ["empty.json"] = "",
                            ["truncated.json"] = '{"mounts": [' }) do
    local f = self:spec(name, text)
    assert_one_line(km("plan " .. q(f)), 2, "katamount: " .. f .. ": not JSON")
  end
end

function TestCliBadInput:test_not_an_oci_spec()
  for _, c in ipairs({
    { "[1, 2]", "not an object" },
    { '"config"', "not an object" },
    { "{}", 'no "mounts" array' },
    { '{"ociVersion": "1.1.0", "process": {}}', 'no "mounts" array' },
    { '{"mounts": null}', '"mounts" is null' },
    { '{"mounts": {"destination": "/a"}}', '"mounts" is an object, not an array' },
    { '{"mounts": "/proc"}', '"mounts" is a string' },
    { '{"mounts": [{"source": "/a", "type": "bind"}]}', 'mounts[0] has no "destination"' },
    { '{"mounts": [{"destination": "/a"}, {"source": "/b"}]}', 'mounts[1] has no "destination"' },
    { '{"mounts": [{"destination": 7}]}', "mounts[0].destination is a number, not a string" },
    { '{"mounts": [{"destination": ""}]}', "mounts[0].destination is empty" },
    { '{"mounts": ["/proc"]}', "mounts[0] is a string, not an object" },
    { '{"mounts": [{"destination": "/a", "source": 1}]}', "mounts[0] (/a).source is a number" },
    { '{"mounts": [{"destination": "/a", "options": "ro"}]}', "mounts[0] (/a).options is a string" },
    { '{"mounts": [{"destination": "/a", "options": ["ro", 1]}]}', "mounts[0] (/a).options[1] is a number" },
    { '{"mounts": [], "root": "rootfs"}', '"root" is a string' },
    { '{"mounts": [], "root": {"path": 1}}', "root.path is a number" },
    { '{"mounts": [], "annotations": {"a": 1}}', 'annotations["a"] is a number' },
  }) do
    local f = self:spec("spec.json", c[1])
    assert_one_line(km("plan " .. q(f) .. " --json"), 2,
      "katamount: " .. f .. ": not an OCI runtime spec: ", c[2])
  end
end

function TestCliBadInput:test_malformed_layer_option()
  local f = self:spec("config.json", '{"mounts": [], "root": {"path": "rootfs"}}')
  for _, opt in ipairs({ "io.katacontainers.fs-opt.layer=/only/source", "io.katacontainers.fs-opt.layer=",
                         "io.katacontainers.fs-opt.layer=,erofs", "io.katacontainers.fs-opt.layer=/a,," }) do
    assert_one_line(km("plan " .. q(f) .. " --rootfs-option " .. q(opt)), 2,
      "katamount: --rootfs-option: malformed layer option", opt, "SOURCE,TYPE")
  end
  local r = self:spec("rootfs.json", '{"type": "overlay", "options": ["io.katacontainers.fs-opt.layer=/x"]}')
  assert_one_line(km("plan " .. q(f) .. " --rootfs " .. q(r)), 2,
    "katamount: " .. r .. ": malformed layer option")
  r = self:spec("rootfs2.json", '{"type": "overlay", "options": "io.katacontainers.fs-opt.layer=/x,erofs"}')
  assert_one_line(km("plan " .. q(f) .. " --rootfs " .. q(r)), 2,
    "katamount: " .. r .. ": ", "options is a string")
  r = self:spec("rootfs3.json", "overlay")
  assert_one_line(km("plan " .. q(f) .. " --rootfs " .. q(r)), 2, "katamount: " .. r .. ": not JSON")
end

function TestCliBadInput:test_bad_rules_dir()
  local f = self:spec("config.json", '{"mounts": []}')
  local missing = self.dir .. "/no-such-rules"
  assert_one_line(km("plan " .. q(f) .. " --rules " .. q(missing)), 2, "katamount: " .. missing .. ": ")
  assert_one_line(km("plan " .. q(f) .. " --rules " .. q(f)), 2,
    "katamount: " .. f .. ": ", "not a directory")
  local rules = H.mkdir(self.dir .. "/rules")
  H.write(rules .. "/50-broken.lua", "params.x = 1\nthis is not lua\n")
  assert_one_line(km("plan " .. q(f) .. " --rules " .. q(rules)), 2, "katamount: ", "50-broken.lua:2")
  assert_one_line(km("classify --source /a --destination /b --rules " .. q(rules)), 2, "katamount: ",
    "50-broken.lua:2")
  assert_one_line(km("rules --rules " .. q(rules)), 2, "katamount: ", "50-broken.lua:2")
  -- the same through KATAMOUNT_RULES_PATH
  assert_one_line(km("plan " .. q(f), "KATAMOUNT_RULES_PATH=" .. q(rules)), 2, "katamount: ",
    "50-broken.lua:2")
end

function TestCliBadInput:test_bad_mountinfo_path()
  local f = self.dir .. "/no-mountinfo"
  assert_one_line(km("mounts " .. q(f)), 2, "katamount: ", f)
end

---------------------------------------------------------------------------
-- Undecided mounts: exit 1, each failure on stderr, the rest still shown.
---------------------------------------------------------------------------

local TestCliUndecided = {}

function TestCliUndecided:setUp()
  self.dir = H.tmpdir("cli")
  self.rules = H.mkdir(self.dir .. "/rules")
  H.write(self.rules .. "/90-explode.lua", [[
-- a rule that fails on one destination
declare("class", "never", "never decided: the rule only fails")
declare("action", "never", "never decided: the rule only fails")
rule {
  name = "explode", order = 1,
  when = function(m) if m.destination == "/boom" then error("kaboom") end return false end,
  class = "never", action = "never",
}
]])
  H.mkdir(self.dir .. "/rootfs")
  self.config = H.write(self.dir .. "/config.json", cjson.encode({
    root = { path = "rootfs" },
    mounts = {
      { destination = "/ok", source = "/proc", type = "bind", options = { "rbind" } },
      { destination = "/boom", source = "/sys", type = "bind", options = { "rbind" } },
      { destination = "/also-ok", source = "tmpfs", type = "tmpfs" },
    },
  }))
end

function TestCliUndecided.tearDown()
  H.cleanup()
end

function TestCliUndecided:test_plan_exit_1_and_the_rest_shown()
  local r = km("plan " .. q(self.config) .. " --rules " .. q(self.rules), "COLUMNS=0")
  lu.assertEquals(r.code, 1, r.err)
  local l = lines(r.err)
  lu.assertEquals(#l, 1, r.err)
  lu.assertStrContains(l[1], "katamount: mount /boom")
  lu.assertStrContains(l[1], "/sys")
  lu.assertStrContains(l[1], "kaboom")
  lu.assertNotStrContains(r.err, "traceback")
  lu.assertStrContains(r.out, "/ok")
  lu.assertStrContains(r.out, "/also-ok")
  lu.assertStrMatches(r.out, ".*\n/boom%s+/sys%s+bind%s+ERROR.*")
  lu.assertStrContains(r.out, "1 could not be decided")
end

function TestCliUndecided:test_plan_json_exit_1_error_in_decision()
  local r = km("plan " .. q(self.config) .. " --json --rules " .. q(self.rules))
  lu.assertEquals(r.code, 1, r.err)
  lu.assertStrContains(r.err, "kaboom")
  local doc = cjson.decode(r.out)
  lu.assertEquals(#doc.mounts, 3)
  lu.assertStrContains(doc.mounts[2].error, "kaboom")
  lu.assertEquals(doc.mounts[2].class, cjson.null)
  lu.assertEquals(doc.mounts[2].destination, "/boom")
  lu.assertEquals(doc.mounts[1].class, "system")
  lu.assertEquals(doc.mounts[3].class, "passthrough")
end

function TestCliUndecided:test_why_exit_1()
  local r = km("why /boom " .. q(self.config) .. " --rules " .. q(self.rules), "COLUMNS=0")
  lu.assertEquals(r.code, 1, r.err)
  lu.assertStrContains(r.err, "kaboom")
  lu.assertStrContains(r.out, "decided nothing")
  lu.assertStrContains(r.out, "kaboom")
  r = km("why /ok " .. q(self.config) .. " --rules " .. q(self.rules) .. " --json")
  lu.assertEquals(r.code, 0, r.err) -- /boom failed in the same plan: why /ok does not say
  lu.assertEquals(r.err, "")
  lu.assertEquals(cjson.decode(r.out)[1].class, "system")
end

function TestCliUndecided:test_classify_exit_1()
  local r = km("classify --source /sys --destination /boom --rules " .. q(self.rules))
  lu.assertEquals(r.code, 1)
  lu.assertStrContains(r.err, "katamount: mount /boom")
  lu.assertStrContains(r.err, "kaboom")
  lu.assertEquals(#lines(r.err), 1)
  r = km("classify --source /sys --destination /fine --rules " .. q(self.rules) .. " --json")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(cjson.decode(r.out).class, "system")
end

---------------------------------------------------------------------------
-- rules, mounts.
---------------------------------------------------------------------------

local TestCliRules = {}

function TestCliRules:setUp()
  self.dir = H.tmpdir("cli")
end

function TestCliRules.tearDown()
  H.cleanup()
end

function TestCliRules.test_lists_rules_in_order_and_params()
  local r = km("rules", "COLUMNS=0")
  lu.assertEquals(r.code, 0, r.err)
  local l = lines(r.out)
  lu.assertStrMatches(l[1], "^ORDER%s+NAME%s+SCOPE%s+CLASS%s+ACTION%s+DEFINED AT$")
  local last, n = {}, 0
  for i = 2, #l do
    if l[i] == "" then break end
    local order, scope, at = l[i]:match("^(%-?[%d.]+)%s+%S+%s+(%S+)%s.-(%S+:%d+)$")
    lu.assertNotNil(order, l[i])
    lu.assertStrContains(at, "rules/")
    lu.assertTrue(tonumber(order) >= (last[scope] or -math.huge), "rules in evaluation order")
    last[scope], n = tonumber(order), n + 1
  end
  lu.assertTrue(n >= 10, "the bundled decision table has at least 10 rules")
  lu.assertStrContains(r.out, "share-watchable")
  lu.assertStrContains(r.out, "watchable_max_files")
  -- each param with the file:line that set it
  lu.assertStrMatches(r.out, ".*\nwatchable_max_files%s+8%s+%S*rules/70%-watchable%.lua:%d+\n.*")
  local doc = decoded(km("rules --json"))
  lu.assertTrue(#doc.rules >= 10)
  for _, rule in ipairs(doc.rules) do
    lu.assertIsString(rule.name)
    lu.assertIsString(rule.file)
    lu.assertIsNumber(rule.line)
  end
end

function TestCliRules:test_rules_dir_adds_its_rules()
  local rules = H.mkdir(self.dir .. "/rules")
  H.write(rules .. "/60-mine.lua", table.concat({
    "params.watchable_max_files = 3",
    "",
    "rule {",
    '  name = "my-rule", order = 950,',
    "  when = function() return false end,",
    '  class = "mine", action = "share",',
    "}", "" }, "\n"))
  local at = rules:gsub("%p", "%%%0") .. "/60%-mine%.lua"
  -- --rules replaces KATAMOUNT_RULES_PATH: a broken one there does not matter
  local broken = H.mkdir(self.dir .. "/broken")
  H.write(broken .. "/10-broken.lua", "this is not lua\n")
  local r = km("rules --rules " .. q(rules), "COLUMNS=0 KATAMOUNT_RULES_PATH=" .. q(broken))
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(r.out, ".*\n950%s+my%-rule%s+%S+%s+mine%s+share%s+" .. at .. ":3\n.*")
  lu.assertStrMatches(r.out, ".*\nwatchable_max_files%s+3%s.*")
end

function TestCliRules:test_check_reports_every_problem()
  local bad = H.mkdir(self.dir .. "/bad")
  H.write(bad .. "/10-syntax.lua", "params.a = 1\nlocal = 2\n")
  H.write(bad .. "/20-ok.lua", "params.b = 2\n")
  H.write(bad .. "/30-runtime.lua", "params.c = 3\n\nerror('broken on purpose')\n")
  H.write(bad .. "/README", "not a rule file\n")
  local r = km("rules --check " .. q(bad))
  lu.assertEquals(r.code, 2)
  lu.assertNotStrContains(r.err, "traceback")
  local l = lines(r.err)
  lu.assertEquals(#l, 2, r.err)
  lu.assertStrContains(l[1], bad .. "/10-syntax.lua:2:")
  lu.assertStrContains(l[2], bad .. "/30-runtime.lua:3:")
  lu.assertStrContains(l[2], "broken on purpose")
  lu.assertStrContains(r.out, "2 problems")
  -- the engine in use is untouched: rules still lists the bundled rules
  lu.assertEquals(km("rules").code, 0)
end

function TestCliRules:test_check_good_and_missing_dirs()
  local good = H.mkdir(self.dir .. "/good")
  H.write(good .. "/10-ok.lua", "params.watchable_max_files = 4\n")
  local r = km("rules --check " .. q(good))
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(r.err, "")
  lu.assertStrContains(r.out, good)
  assert_one_line(km("rules --check " .. q(self.dir .. "/none")), 2, "katamount: " .. self.dir .. "/none: ")
end

-- Each mistake of issue 13, dropped into a rules directory alone, is
-- caught by rules --check with a message naming file:line: a warning
-- (status 1) or an error (status 2).
function TestCliRules.test_check_catches_each_operator_mistake()
  for _, c in ipairs({
    { "params.watchable_max_file = 16\n", 1,
      "/50-site.lua:1: param 'watchable_max_file' is not declared", "did you mean 'watchable_max_files'?" },
    { "params.disable_guest_empty_dir = \"false\"\n", 2,
      "/50-site.lua:1: param 'disable_guest_empty_dir' expects true or false, got the string \"false\"" },
    { "rule { name = 'x', order = 1, class = 'shraed', action = 'share',\n"
      .. "  when = function(m) return m.destination == '/data' end }\n", 1,
      "/50-site.lua:1: rule 'x': unknown class 'shraed'", "did you mean 'shared'?" },
    { "", 2, "/20-system.lua: replaces the bundled ", "safety rule 'system'", "20-system.lua" },
  }) do
    local d = H.mkdir(H.tmpdir("cli-check") .. "/rules")
    H.write(d .. (c[5] and "/" .. c[5] or "/50-site.lua"), c[1])
    local r = km("rules --check " .. q(d))
    lu.assertEquals(r.code, c[2], c[1] .. r.err)
    lu.assertStrContains(r.err, d .. c[3])
    if c[4] then lu.assertStrContains(r.err, c[4]) end
    lu.assertNotStrContains(r.err, "traceback")
  end
  -- `when` answering a string and an undefined predicate: the decisions
  -- they make fail, shown as changes with the rule's file:line
  local d = H.mkdir(H.tmpdir("cli-check") .. "/rules")
  H.write(d .. "/50-site.lua", "rule { name = 'y', order = 1, class = 'shared', action = 'share',\n"
    .. "  when = function(m) if m.destination == '/data' then return 'false' end\n"
    .. "    return is_confg_map(m.source) end }\n")
  local r = km("rules --check " .. q(d))
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out, "ERROR: rule 'y' (" .. d .. "/50-site.lua:1): when must return true, false"
    .. " or nil, got the string \"false\"")
  lu.assertStrContains(r.out, d .. "/50-site.lua:3: 'is_confg_map' is not defined")
end

-- rules --check shows what a directory changes: a raised limit makes the
-- 12-file configmap of the canonical mounts watched, nothing else.
function TestCliRules:test_check_shows_the_decisions_that_change()
  local d = H.mkdir(self.dir .. "/limit")
  H.write(d .. "/50-site.lua", "params.watchable_max_files = 16\n")
  local r = km("rules --check " .. q(d))
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out,
    "canonical mounts (one per row of the decision table): 1 of 12 decisions change")
  lu.assertStrMatches(r.out, ".*\n  mount 10 /etc/large: shared / share %(shared%) %-> watchable / "
    .. "share%-watchable %(watchable%)\n.*")
  lu.assertStrContains(r.out, "examples/pod/config.json: 0 of")
end

-- plan --agent: what kata's agent would receive (valid JSON, agent field
-- names); -o guest and --explain show the guest side of each mount.
function TestCliRules.test_plan_agent_and_the_guest_column()
  local dir = H.tmpdir("cli-agent")
  local data = H.mkdir(dir .. "/data")
  local config = H.write(dir .. "/config.json", cjson.encode({
    root = { path = dir },
    mounts = {
      { destination = "/proc", source = "proc", type = "proc", options = { "nosuid" } },
      { destination = "/data", source = data, type = "bind", options = { "rbind", "ro" } },
      { destination = "/dev/shm", source = "shm", type = "tmpfs", options = { "nosuid" } },
    },
  }))
  local r = km("plan " .. q(config) .. " --agent --set container_id=c1 --set sandbox_id=s1")
  lu.assertEquals(r.code, 0, r.err)
  local doc = cjson.decode(r.out)
  lu.assertEquals(#doc.mounts, 3)
  lu.assertEquals(doc.mounts[1], { destination = "/proc", source = "proc", type = "proc",
    options = { "nosuid" } })
  -- the shared bind points under the guest's shared directory, ro kept
  lu.assertStrMatches(doc.mounts[2].source, "^/run/kata%-containers/shared/containers/c1%-%x+%-data$")
  lu.assertEquals(doc.mounts[2].options, { "rbind", "ro" })
  -- /dev/shm: kata's handleShm, a tmpfs of 64 MiB without a sandbox shm
  local shm = doc.mounts[3]
  lu.assertEquals(shm.destination, "/dev/shm")
  lu.assertEquals(shm.type, "tmpfs")
  for _, s in ipairs(doc.storages) do
    lu.assertIsString(s.driver)
    lu.assertIsString(s.mount_point)
  end
  -- the table's GUEST column and --explain's translation line
  r = km("plan " .. q(config) .. " -o destination,class,guest --set container_id=c1 --set sandbox_id=s1",
    "COLUMNS=0")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(r.out, "^DESTINATION%s+CLASS%s+GUEST\n.*")
  lu.assertStrMatches(r.out, ".*\n/proc%s+passthrough%s+as given\n.*")
  lu.assertStrMatches(r.out, ".*\n/data%s+shared%s+/run/kata%-containers/shared/containers/c1%-%x+%-data\n.*")
  r = km("plan " .. q(config) .. " --explain", "COLUMNS=0")
  lu.assertStrContains(r.out, "guest: translated by 'shared/*' [")
  lu.assertStrContains(r.out, "guest-shared.lua:")
  assert_one_line(km("plan " .. q(config) .. " --agent --json"), 2, "katamount plan: ", "--agent")
end

-- diff: the decisions of a spec a directory changes; status 1 when some do,
-- 0 when none, 2 without --rules; --json for scripts.
function TestCliRules:test_diff_of_a_spec()
  local d = H.mkdir(self.dir .. "/prefix")
  H.write(d .. "/50-site.lua", "table.insert(params.system_prefixes, '/var/lib/containerd')\n")
  local r = km("diff --rules " .. q(d) .. " " .. CONFIG)
  lu.assertEquals(r.code, 1, r.err)
  lu.assertStrContains(r.out, "examples/pod/config.json with " .. d .. ": 2 of 22 decisions change")
  lu.assertStrMatches(r.out, ".*\n  mount %d+ /etc/hostname: shared / share %(shared%) %-> system / skip"
    .. " %(system%)\n.*")
  local doc = cjson.decode(km("diff --json --rules " .. q(d) .. " " .. CONFIG).out)
  lu.assertTrue(#doc >= 1)
  for _, c in ipairs(doc) do
    lu.assertEquals(c.after.class, "system")
    lu.assertStrContains(c.source, "/var/lib/containerd/")
  end
  local same = H.mkdir(self.dir .. "/same")
  H.write(same .. "/50-site.lua", "params.watchable_max_files = 8\n")
  r = km("diff --rules " .. q(same) .. " " .. CONFIG)
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out, ": 0 of ")
  assert_one_line(km("diff " .. CONFIG), 2, "katamount diff: ", "--rules DIR")
end

local TestCliMounts = {}

function TestCliMounts:setUp()
  self.dir = H.tmpdir("cli")
end

function TestCliMounts.tearDown()
  H.cleanup()
end

function TestCliMounts.test_host_table()
  local r = km("mounts", "COLUMNS=0")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(r.out, "^MOUNT POINT%s+FSTYPE%s+SOURCE%s+MAJ:MIN%s+OPTIONS\n.*")
  lu.assertStrMatches(r.out, ".*\n/%s+%S+%s+%S+%s+%d+:%d+%s+%S+\n.*")
  local doc = decoded(km("mounts --json"))
  local root
  for _, m in ipairs(doc.mounts) do if m.mount_point == "/" then root = m end end
  lu.assertNotNil(root)
  lu.assertIsString(root.fstype)
end

function TestCliMounts:test_mountinfo_file()
  local f = H.write(self.dir .. "/mountinfo",
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n" ..
    "40 22 0:45 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/my\\040cache rw,nosuid - " ..
    "tmpfs tmpfs rw,size=1024k\n")
  local r = km("mounts " .. q(f), "COLUMNS=0")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(r.out, ".*\n/%s+ext4%s+/dev/sda1%s+8:1%s+rw,relatime\n.*")
  lu.assertStrContains(r.out, "kubernetes.io~empty-dir/my cache")
  local doc = decoded(km("mounts --json " .. q(f)))
  lu.assertEquals(#doc.mounts, 2)
  lu.assertEquals(doc.mounts[2].mount_point,
    "/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/my cache")
  lu.assertEquals(doc.mounts[2].major, 0)
  lu.assertEquals(doc.mounts[2].minor, 45)
  lu.assertEquals(doc.mounts[1].options, { "rw", "relatime" })
  -- narrow: fits
  r = km("mounts " .. q(f), "COLUMNS=50")
  lu.assertTrue(max_width(r.out) <= 50, r.out)
end

local TestCliOutput = {}

function TestCliOutput:setUp()
  self.dir = H.tmpdir("cli")
end

function TestCliOutput.tearDown()
  H.cleanup()
end

function TestCliOutput:test_names_cannot_break_the_table()
  H.mkdir(self.dir .. "/rootfs")
  local f = H.write(self.dir .. "/config.json", '{"root": {"path": "rootfs"}, "mounts": [' ..
    '{"destination": "/a\\nb", "source": "/x\\u0007y", "type": "bind"},' ..
    '{"destination": "/ok", "source": "proc", "type": "proc"}]}')
  local r = km("plan " .. q(f), "COLUMNS=0")
  lu.assertEquals(r.code, 0, r.err)
  local l = lines(r.out)
  -- the source is not on this host: marked so in the table and the JSON
  lu.assertStrMatches(l[2], "^/a\\x0ab%s+/x\\x07y %(missing%)%s+bind%s.*")
  lu.assertStrMatches(l[3], "^/ok%s+proc%s+proc%s+passthrough%s+guest%-mount%s.*")
  r = km("plan " .. q(f) .. " --json")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(lines(r.err), { "katamount: warning: " .. f .. ": mounts[0] (/a\\x0ab): source /x\\x07y"
    .. " is not on this host: decided without it" })
  local doc = cjson.decode(r.out)
  lu.assertEquals(doc.mounts[1].destination, "/a\nb")
  lu.assertEquals(doc.mounts[1].source, "/x\ay")
  lu.assertTrue(doc.mounts[1].source_missing)
  lu.assertNil(doc.mounts[2].source_missing)
end

function TestCliOutput:test_relative_root_path_is_in_the_bundle()
  local f = H.write(self.dir .. "/config.json", '{"root": {"path": "rootfs"}, "mounts": []}')
  -- missing: kata's hotplugDrive fails the create (container.go), so does the plan
  local r = km("plan " .. q(f) .. " --json")
  lu.assertEquals(r.code, 1, r.err)
  lu.assertStrContains(r.err, self.dir .. "/rootfs")
  lu.assertStrContains(r.err, "does not exist")
  H.mkdir(self.dir .. "/rootfs")
  local doc = decoded(km("plan " .. q(f) .. " --json"))
  lu.assertEquals(doc.rootfs.source, self.dir .. "/rootfs")
  lu.assertEquals(doc.rootfs.action, "share")
  lu.assertEquals(doc.mounts, {})
  lu.assertEquals(doc.layers, {})
end

function TestCliOutput.test_classify_defaults_to_a_bind_mount()
  local d = decoded(km("classify --source /proc/self --destination /x --json"))
  lu.assertEquals(d.type, "bind")
  lu.assertEquals(d.class, "system")
  lu.assertEquals(d.action, "skip")
  d = decoded(km("classify --source tmpfs --destination /x --type tmpfs --option size=1m --json"))
  lu.assertEquals(d.class, "passthrough")
  lu.assertEquals(d.options, { "size=1m" })
end

---------------------------------------------------------------------------
-- Input: runc's and crun's specs, standard input, bundle directories.
---------------------------------------------------------------------------

local TestCliInput = { tearDown = H.cleanup }

-- A bundle: `config` (a fixture name or JSON text) as config.json, a rootfs
-- directory, and the directories named in `dirs`.
local function bundle(config, dirs)
  local dir = H.tmpdir("cli-bundle")
  local text = config:match("^%s*{") and config or H.read("spec/fixtures/" .. config)
  H.write(dir .. "/config.json", text)
  H.mkdir(dir .. "/rootfs")
  for _, d in ipairs(dirs or {}) do H.mkdir(dir .. "/" .. d) end
  return dir, H.sh("realpath " .. q(dir))
end

-- What the bundled rules decide for `runc spec`'s and `crun spec`'s mounts.
local OCI_DEFAULTS = {
  ["/proc"] = "passthrough", ["/dev"] = "passthrough", ["/dev/pts"] = "passthrough",
  ["/dev/shm"] = "shm", ["/dev/mqueue"] = "passthrough", ["/sys"] = "passthrough",
  ["/sys/fs/cgroup"] = "passthrough",
}

function TestCliInput.test_runc_and_crun_specs_as_bundles()
  for _, fixture in ipairs({ "runc-spec.json", "crun-spec.json" }) do
    local dir, real = bundle(fixture)
    local r = km("plan " .. q(dir) .. " --json")
    local doc = decoded(r)
    lu.assertEquals(#doc.mounts, 7, fixture)
    for _, d in ipairs(doc.mounts) do
      lu.assertEquals(d.class, OCI_DEFAULTS[d.destination], fixture .. " " .. d.destination)
      lu.assertNil(d.source_missing)
    end
    -- the root filesystem is the bundle's root.path, as the shim passes it
    lu.assertEquals(doc.rootfs.destination, real .. "/rootfs", fixture)
    lu.assertEquals(doc.rootfs.class, "rootfs")
    lu.assertEquals(doc.warnings, {})
    -- the same as a table, and given as the bundle's config.json
    r = km("plan " .. q(dir .. "/config.json"), "COLUMNS=0")
    lu.assertEquals(r.code, 0, r.err)
    lu.assertEquals(r.err, "")
    lu.assertStrMatches(r.out, ".*\n/dev/shm%s+shm%s+tmpfs%s+shm%s+guest%-shm%s.*")
    lu.assertStrContains(r.out, "7 mounts, root filesystem share, 0 layers")
  end
end

function TestCliInput.test_stdin_is_the_same_spec()
  local dir = bundle("runc-spec.json", { "data" })
  local spec = cjson.decode(H.read(dir .. "/config.json"))
  spec.root.path = dir .. "/rootfs"
  spec.mounts[#spec.mounts + 1] = { destination = "/data", source = dir .. "/data", type = "bind",
    options = { "rbind" } }
  local f = H.write(dir .. "/abs.json", cjson.encode(spec))
  local from_file = km("plan " .. q(f) .. " --json")
  local from_stdin = km("plan - --json", nil, "<" .. q(f))
  decoded(from_stdin)
  lu.assertEquals(from_stdin.out, from_file.out)
  lu.assertEquals(from_stdin.err, "")
  -- an empty standard input is bad input
  H.assert_one_line(km("plan -", nil, "</dev/null"), 2, "katamount: <stdin>: not JSON: the input is empty")
end

function TestCliInput.test_stdin_relative_paths_are_warned_about_never_taken_from_the_cwd()
  local dir, real = bundle("crun-spec.json")
  local spec = cjson.decode(H.read(dir .. "/config.json"))
  spec.mounts[#spec.mounts + 1] = { destination = "/data", source = "data", type = "bind",
    options = { "rbind" } }
  local f = H.write(dir .. "/rel.json", cjson.encode(spec))
  local r = km("plan - --json", nil, "<" .. q(f))
  lu.assertEquals(r.code, 0, r.err)
  local doc = cjson.decode(r.out)
  lu.assertEquals(doc.rootfs, cjson.null) -- not planned: no bundle to find it in
  lu.assertEquals(doc.mounts[8].source, "data")
  lu.assertEquals(lines(r.err), {
    "katamount: warning: <stdin>: mounts[7]: source 'data' is relative and a spec read from stdin has"
      .. " no bundle to resolve it against (--bundle DIR): decided as given",
    "katamount: warning: <stdin>: root.path 'rootfs' is relative and a spec read from stdin has no"
      .. " bundle to resolve it against (--bundle DIR): the root filesystem is not planned",
  })
  lu.assertEquals(#doc.warnings, 2)
  r = km("plan -", "COLUMNS=0", "<" .. q(f))
  lu.assertStrContains(r.out, "8 mounts, no root filesystem, 0 layers")
  -- --bundle gives them a bundle
  H.mkdir(dir .. "/data")
  doc = decoded(km("plan - --bundle " .. q(dir) .. " --json", nil, "<" .. q(f)))
  lu.assertEquals(doc.mounts[8].source, real .. "/data")
  lu.assertEquals(doc.rootfs.destination, real .. "/rootfs")
end

function TestCliInput.test_bundle_resolves_relative_bind_sources()
  local dir, real = bundle([[{"root": {"path": "rootfs"}, "mounts": [
    {"destination": "/data", "source": "data", "type": "bind", "options": ["rbind"]},
    {"destination": "/up", "source": "../up", "type": "none", "options": ["bind"]},
    {"destination": "/t", "source": "tmpfs", "type": "tmpfs"}]}]], { "data" })
  -- the command runs in the checkout: nothing there is taken
  local r = km("plan " .. q(dir) .. " --json")
  lu.assertEquals(r.code, 0, r.err)
  local doc = cjson.decode(r.out)
  lu.assertEquals(doc.mounts[1].source, real .. "/data")
  lu.assertEquals(doc.mounts[3].source, "tmpfs") -- not a bind mount: a name, not a path
  -- ../up leaves the bundle and is not there: resolved, then marked missing
  lu.assertEquals(doc.mounts[2].source, real:match("^(.*)/[^/]*$") .. "/up")
  lu.assertTrue(doc.mounts[2].source_missing)
  lu.assertEquals(#lines(r.err), 1, r.err)
end

function TestCliInput.test_container_id_in_containerd_and_crio_state_dirs()
  local state = H.tmpdir("cli-state")
  local ctrd, crio = H.mkdir(state .. "/containerd"), H.mkdir(state .. "/crio")
  local runc = H.read("spec/fixtures/runc-spec.json")
  local function bundle_at(dir)
    H.mkdir(dir .. "/rootfs")
    H.write(dir .. "/config.json", runc)
    return H.sh("realpath " .. q(dir))
  end
  local a = bundle_at(ctrd .. "/k8s.io/abc123def")
  local b = bundle_at(ctrd .. "/moby/abc999")
  local c = bundle_at(crio .. "/f00d42/userdata")
  H.mkdir(ctrd .. "/k8s.io/abc000-no-config") -- no config.json: not a running container
  local roots = " --containerd-root " .. q(ctrd) .. " --crio-root " .. q(crio)
  for id, real in pairs({ abc123def = a, abc1 = a, abc9 = b, f00d42 = c, f0 = c }) do
    local doc = decoded(km("plan --container " .. id .. roots .. " --json"))
    lu.assertEquals(#doc.mounts, 7, id)
    lu.assertEquals(doc.rootfs.destination, real .. "/rootfs", id)
  end
  -- why takes it too
  local r = km("why /dev/shm --container f00d" .. roots)
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out, "decided shm / guest-shm")
  -- the container's whole id names the container in guest paths (CRI-O's
  -- bundle is <id>/userdata), and the sandbox without an annotation
  for id, want in pairs({ abc1 = "abc123def", f0 = "f00d42" }) do
    local doc = decoded(km("plan --container " .. id .. roots .. " --json"))
    lu.assertEquals(doc.rootfs.guest_mount.source, "/run/kata-containers/shared/containers/" .. want
      .. "/rootfs", id)
    lu.assertStrContains(doc.rootfs.host.path, "/sandboxes/" .. want .. "/mounts/" .. want .. "/", id)
  end
  -- none, several, a bad id, both CONFIG and --container
  assert_one_line(km("plan --container nope" .. roots), 2, "katamount: --container nope: no such running"
    .. " container in " .. ctrd .. " " .. crio)
  assert_one_line(km("plan --container abc" .. roots), 2, "katamount: --container abc: 2 containers match: ")
  assert_one_line(km("plan --container ../abc" .. roots), 2,
    "katamount: --container ../abc: not a container id")
  assert_one_line(km("plan x.json --container abc" .. roots), 2,
    "katamount plan: give CONFIG or --container ID")
end

-- --container-id and --sandbox-id, else a bundle's: the container's id its
-- directory's name, the sandbox's containerd's or CRI-O's annotation (else
-- the container's id); checked as kata checks ids
function TestCliInput.test_container_and_sandbox_ids()
  local dir = H.tmpdir("cli-ids")
  local function make_bundle(name, annotations)
    local b = H.mkdir(dir .. "/" .. name)
    H.mkdir(b .. "/rootfs")
    H.mkdir(b .. "/data")
    H.write(b .. "/config.json", cjson.encode({ root = { path = "rootfs" }, annotations = annotations,
      mounts = { { destination = "/data", source = "data", type = "bind", options = { "rbind" } } } }))
    return b
  end
  -- the guest side of a shared mount names both ids
  local function ids(args, stdin)
    local doc = decoded(km("plan " .. args .. " --json", nil, stdin))
    local m = doc.mounts[1]
    return m.guest_mount.source:match("^/run/kata%-containers/shared/containers/(.-)%-%x+%-data$"),
      m.host.path:match("^/run/kata%-containers/shared/sandboxes/([^/]+)/mounts/")
  end
  local web = make_bundle("web-7", { ["io.kubernetes.cri.sandbox-id"] = "pod-42" })
  lu.assertEquals({ ids(q(web)) }, { "web-7", "pod-42" })
  lu.assertEquals({ ids(q(make_bundle("db.1", { ["io.kubernetes.cri-o.SandboxID"] = "crio-sb" }))) },
    { "db.1", "crio-sb" })
  -- no annotation: the sandbox is the container
  lu.assertEquals({ ids(q(make_bundle("solo", nil))) }, { "solo", "solo" })
  -- the flags win; one flag leaves the other to the bundle
  lu.assertEquals({ ids(q(web) .. " --container-id c9 --sandbox-id s9") }, { "c9", "s9" })
  lu.assertEquals({ ids(q(web) .. " --container-id c9") }, { "c9", "pod-42" })
  -- a directory name kata would refuse is no id: the placeholders stay
  lu.assertEquals({ ids(q(make_bundle("_x", nil))) }, { "container-id", "sandbox-id" })
  -- a config.json named as a file is no bundle; stdin with --bundle is
  lu.assertEquals({ ids(q(web .. "/config.json")) }, { "container-id", "sandbox-id" })
  lu.assertEquals({ ids("- --bundle " .. q(web), "<" .. q(web .. "/config.json")) }, { "web-7", "pod-42" })
  -- --agent takes them too
  local doc = decoded(km("plan " .. q(web) .. " --agent"))
  lu.assertEquals(doc.root, { path = "/run/kata-containers/shared/containers/web-7/rootfs" })
  -- why and diff
  local r = km("why /data " .. q(web) .. " --json --sandbox-id s2")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(cjson.decode(r.out)[1].host.path, "/sandboxes/s2/mounts/web-7-")
  local rules = H.mkdir(dir .. "/rules")
  H.write(rules .. "/50-x.lua", "params.shm_size = 1\n")
  r = km("diff " .. q(web) .. " --rules " .. q(rules) .. " --container-id c3 --json")
  lu.assertEquals(r.code, 0, r.err)
  -- bad ids: a usage error for a flag, bad input for an annotation
  for _, bad in ipairs({ "../x", "a/b", "-x", ".x", "x" }) do
    assert_one_line(km("plan " .. q(web) .. " --container-id=" .. q(bad)), 2,
      "katamount plan: --container-id ",
      "an id must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
  end
  assert_one_line(km("diff " .. q(web) .. " --rules " .. q(rules) .. " --sandbox-id=a/b"), 2,
    "katamount diff: --sandbox-id a/b: an id must match")
  local evil = make_bundle("evil", { ["io.kubernetes.cri.sandbox-id"] = "../../etc" })
  assert_one_line(km("plan " .. q(evil)), 2, "katamount: " .. evil .. "/config.json: annotation"
    .. " io.kubernetes.cri.sandbox-id ../../etc is not an id kata accepts")
  assert_one_line(km("plan " .. q(web) .. " --container-id c1 --set container_id=c2"), 2,
    "katamount plan: give --container-id or --set container_id=, not both")
end

function TestCliInput.test_bad_bundles()
  local dir = H.tmpdir("cli-bundle")
  assert_one_line(km("plan " .. q(dir)), 2, "katamount: " .. dir .. ": a directory without config.json")
  local f = H.write(dir .. "/c.json", '{"mounts": []}')
  assert_one_line(km("plan " .. q(f) .. " --bundle " .. q(dir)), 2, "katamount: --bundle is for a spec read"
    .. " from stdin")
  assert_one_line(km("plan - --bundle " .. q(dir .. "/nope"), nil, "<" .. q(f)), 2,
    "katamount: " .. dir .. "/nope: no such bundle directory (--bundle)")
  assert_one_line(km("plan - --bundle " .. q(f), nil, "<" .. q(f)), 2,
    "katamount: " .. f .. ": not a directory")
end

---------------------------------------------------------------------------
-- The audit says what it could not see.
---------------------------------------------------------------------------

local TestCliAudit = { tearDown = H.cleanup }

function TestCliAudit.test_missing_source_is_marked()
  local dir, real = bundle([[{"root": {"path": "rootfs"}, "mounts": [
    {"destination": "/here", "source": "here", "type": "bind", "options": ["rbind"]},
    {"destination": "/gone", "source": "gone", "type": "bind", "options": ["rbind"]}]}]], { "here" })
  local r = km("plan " .. q(dir), "COLUMNS=0")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(lines(r.err), { ("katamount: warning: %s/config.json: mounts[1] (/gone): source %s/gone"
    .. " is not"
    .. " on this host: decided without it"):format(dir, real) })
  lu.assertStrContains(r.out, real .. "/gone (missing)")
  lu.assertNotStrContains(r.out, real .. "/here (missing)")
  lu.assertStrContains(r.out, "1 source missing on this host")
  r = km("plan " .. q(dir) .. " -o destination,missing --no-headers")
  lu.assertStrMatches(lines(r.out)[1], "^/here%s+%-$")
  lu.assertStrMatches(lines(r.out)[2], "^/gone%s+yes$")
  local doc = cjson.decode(km("plan " .. q(dir) .. " --json").out)
  lu.assertNil(doc.mounts[1].source_missing)
  lu.assertTrue(doc.mounts[2].source_missing)
  lu.assertStrContains(doc.warnings[1], "/gone is not on this host")
  -- classify says it too
  r = km("classify --source " .. q(real .. "/gone") .. " --destination /x --json")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(lines(r.err), { "katamount: warning: --source " .. real .. "/gone is not on this host:"
    .. " decided without it" })
  lu.assertTrue(cjson.decode(r.out).source_missing)
end

function TestCliAudit.test_windows_guest_and_relative_destinations_are_warned_about()
  local dir = bundle([[{"root": {"path": "rootfs"}, "windows": {"layerFolders": ["C:\\layers\\1"]},
    "mounts": [{"destination": "C:\\data", "source": "C:\\host\\data", "type": ""}]}]])
  local r = km("plan " .. q(dir) .. " --json")
  lu.assertEquals(r.code, 0, r.err)
  local l = lines(r.err)
  lu.assertEquals(#l, 2, r.err)
  lu.assertStrContains(l[1], 'a Windows spec ("windows" is set)')
  lu.assertStrContains(l[2], "mounts[0]: destination 'C:\\data' is relative")
  dir = bundle([[{"root": {"path": "rootfs"}, "mounts": [
    {"destination": "/etc/hostname", "source": "/run/kata-containers/shared/containers/c1-hostname",
     "type": "bind", "options": ["rbind"]},
    {"destination": "tmp", "source": "tmpfs", "type": "tmpfs"}]}]])
  r = km("plan " .. q(dir))
  lu.assertEquals(r.code, 0, r.err)
  l = lines(r.err)
  lu.assertEquals(#l, 3, r.err)
  lu.assertStrContains(l[1], "/run/kata-containers/shared/containers/c1-hostname is not on this host")
  lu.assertStrContains(l[2], "mounts[1]: destination 'tmp' is relative: runtimes take it below the"
    .. " container's root (/tmp)")
  lu.assertStrContains(l[3], "mount sources under /run/kata-containers/: this looks like the spec the kata"
    .. " agent"
    .. " gets in the guest")
end

---------------------------------------------------------------------------
-- The table: widths, pipes, terminals, -o, --no-headers, --wide.
---------------------------------------------------------------------------

local TestCliTable = { tearDown = H.cleanup }

-- A bundle whose bind sources are long paths that exist.
function TestCliTable:setUp()
  local long = "volumes/kubernetes.io~configmap/app-config"
  local mounts = {}
  for i, name in ipairs({ "alpha", "beta", "gamma", "delta" }) do
    mounts[i] = { destination = "/etc/app/" .. name, source = long .. "/" .. name .. "-volume-source",
                  type = "bind", options = { "rbind", "ro" } }
  end
  mounts[#mounts + 1] = { destination = "/proc", source = "proc", type = "proc" }
  local dirs = {}
  for i = 1, 4 do dirs[i] = mounts[i].source end
  self.dir, self.real = bundle(cjson.encode({ root = { path = "rootfs" }, mounts = mounts }), dirs)
  self.sources = {}
  for i = 1, 4 do self.sources[i] = self.real .. "/" .. mounts[i].source end
  self.wide = km("plan " .. q(self.dir) .. " --wide")
  lu.assertEquals(self.wide.code, 0, self.wide.err)
  lu.assertEquals(self.wide.err, "")
end

function TestCliTable:test_widths_60_100_200()
  local natural = max_width(self.wide.out)
  lu.assertTrue(natural > 100, "the fixture's table is " .. natural .. " wide")
  -- (the scratch directory's path is in the sources: at 200 the table is
  -- cut or not, depending on $TMPDIR; at its natural width, never)
  for _, w in ipairs({ 60, 100, 200, natural }) do
    local r = km("plan " .. q(self.dir), "COLUMNS=" .. w)
    lu.assertEquals(r.code, 0, r.err)
    lu.assertTrue(max_width(r.out) <= w, ("%d: a line is %d wide:\n%s"):format(w, max_width(r.out), r.out))
    for _, name in ipairs({ "alpha", "beta", "gamma", "delta" }) do
      lu.assertStrContains(r.out, "/etc/app/" .. name)
      lu.assertStrContains(r.out, name .. "-volume-source") -- a path keeps its last component
    end
    if w >= natural then
      lu.assertEquals(r.out, self.wide.out)
    else
      lu.assertStrContains(r.out, "…")
    end
  end
  -- at 60 the source goes on a line of its own
  lu.assertStrMatches(km("plan " .. q(self.dir), "COLUMNS=60").out, "^DESTINATION%s+TYPE.*\n    SOURCE\n.*")
end

function TestCliTable:test_a_pipe_or_a_file_cuts_nothing()
  -- stdout a file (km), then a pipe
  local r = km("plan " .. q(self.dir))
  lu.assertEquals(r.out, self.wide.out)
  local piped = H.sh("cd " .. q(H.root) .. " && " .. H.km_command("plan " .. q(self.dir)) .. " | cat")
  lu.assertEquals(piped .. "\n", self.wide.out)
  for _, s in ipairs(self.sources) do lu.assertStrContains(piped, s) end
  lu.assertNotStrContains(piped, "…")
  -- --wide wins over COLUMNS; COLUMNS=0 is no limit
  lu.assertEquals(km("plan " .. q(self.dir) .. " --wide", "COLUMNS=60").out, self.wide.out)
  lu.assertEquals(km("plan " .. q(self.dir), "COLUMNS=0").out, self.wide.out)
end

function TestCliTable:test_the_terminals_width()
  lu.skipIf(not H.run("command -v script"), "needs util-linux script")
  for _, w in ipairs({ 60, 100 }) do
    local out = H.sh(("cd %s && script -qec %s /dev/null </dev/null"):format(q(H.root),
      q(("stty cols %d rows 50; %s"):format(w, H.km_command("plan " .. q(self.dir))))))
    out = out:gsub("\r", "") .. "\n"
    lu.assertTrue(max_width(out) <= w, ("%d: a line is %d wide:\n%s"):format(w, max_width(out), out))
    lu.assertStrContains(out, "…")
    lu.assertStrContains(out, "alpha-volume-source")
  end
end

function TestCliTable:test_output_columns_and_no_headers()
  local r = km("plan " .. q(self.dir) .. " -o class,DESTINATION")
  lu.assertEquals(r.code, 0, r.err)
  local l = lines(r.out)
  lu.assertStrMatches(l[1], "^CLASS%s+DESTINATION$")
  lu.assertStrMatches(l[2], "^%S+%s+/etc/app/alpha$")
  r = km("plan " .. q(self.dir) .. " --output destination,options,reasons --no-headers")
  l = lines(r.out)
  lu.assertStrMatches(l[1], "^/etc/app/alpha%s+rbind,ro%s+%S.*")
  lu.assertStrMatches(l[5], "^/proc%s+%-%s+not a bind mount %(type 'proc'%).*")
  r = km("classify --source proc --destination /proc --type proc -o action --no-headers")
  lu.assertEquals(r.out, "guest-mount\n")
  assert_one_line(km("plan " .. q(self.dir) .. " -o class,bogus"), 2,
    "katamount plan: -o class,bogus: no column"
    .. " 'bogus' (columns: destination,source,type,class,action,rule,guest,options,reasons,missing)")
  r = km("rules -o name,class --no-headers")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(lines(r.out)[1], "^%S+%s+%S+$")
  r = km("mounts spec/fixtures/mountinfo-escapes -o fstype,mount-point,id")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(lines(r.out)[1], "^FSTYPE%s+MOUNT POINT%s+ID$")
  lu.assertStrMatches(lines(r.out)[3], "^tmpfs%s+/mnt/with space%s+100$")
  assert_one_line(km("mounts -o nope"), 2, "katamount mounts: -o nope: no column 'nope'")
end

---------------------------------------------------------------------------
-- why DESTINATION.
---------------------------------------------------------------------------

local TestCliWhy = { tearDown = H.cleanup }

function TestCliWhy.test_explains_one_mount()
  local dir, real = bundle([[{"root": {"path": "rootfs"}, "mounts": [
    {"destination": "/data", "source": "data", "type": "bind", "options": ["rbind"]},
    {"destination": "/proc", "source": "proc", "type": "proc"}]}]], { "data" })
  local r = km("why /data/ " .. q(dir))
  lu.assertEquals(r.code, 0, r.err)
  lu.assertEquals(r.err, "")
  local l = lines(r.out)
  lu.assertEquals(l[1], "mounts[0] /data (bind)")
  lu.assertEquals(l[2], "  source  " .. real .. "/data")
  lu.assertStrMatches(r.out, ".*\n  decided shared / share by rule shared\n.*")
  lu.assertStrContains(r.out, "  rules tried:")
  lu.assertStrMatches(r.out, ".*\n    %+ shared%s+matched.*%[rules/80%-shared%.lua:%d+%]\n.*")
  lu.assertStrMatches(r.out, ".*\n    %- layer%s+no: .*%[rules/10%-layers%.lua:%d+%]\n.*")
  -- the root filesystem
  r = km("why / " .. q(dir))
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out, "root filesystem " .. real .. "/rootfs")
  lu.assertStrContains(r.out, "rootfs-share")
  -- JSON: the decisions with their trace
  local doc = decoded(km("why /proc " .. q(dir) .. " --json"))
  lu.assertEquals(#doc, 1)
  lu.assertEquals(doc[1].class, "passthrough")
  lu.assertTrue(#doc[1].trace >= 1)
  -- a destination the spec lacks
  assert_one_line(km("why /nope " .. q(dir)), 2, "katamount: " .. dir .. "/config.json: no mount on /nope"
    .. " (destinations: /data /proc)")
end

---------------------------------------------------------------------------
-- JSON keeps every byte.
---------------------------------------------------------------------------

local TestCliJson = { tearDown = H.cleanup }

function TestCliJson.test_bytes_that_are_not_utf8_are_escaped_exactly()
  local dir = H.tmpdir("cli-json")
  local f = H.write(dir .. "/mountinfo", "26 1 254:0 / / rw - ext4 /dev/vda rw\n"
    .. "27 26 0:50 / /mnt/a\255b\192\128c rw - tmpfs tmpfs rw\n"
    .. "28 26 0:51 / /mnt/caf\195\169 rw - tmpfs t\1y rw\n")
  local r = km("mounts " .. q(f) .. " --json")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrContains(r.out, '"/mnt/a\\udcffb\\udcc0\\udc80c"')
  lu.assertStrContains(r.out, '"/mnt/caf\195\169"') -- valid UTF-8 stays as it is
  lu.assertStrContains(r.out, '"t\\u0001y"')
  lu.assertNil(r.out:find("\255", 1, true))
  -- undone, the document decodes to the very bytes
  package.path = H.root .. "/lua/?.lua;" .. package.path
  local doc = cjson.decode(require("katamount.cli.json").unescape_bytes(r.out))
  lu.assertEquals(doc.mounts[2].mount_point, "/mnt/a\255b\192\128c")
  lu.assertEquals(doc.mounts[3].mount_point, "/mnt/caf\195\169")
  lu.assertEquals(doc.mounts[3].source, "t\1y")
  -- the table shows them as \xNN
  r = km("mounts " .. q(f) .. " -o mount-point --no-headers")
  lu.assertEquals(lines(r.out)[2], "/mnt/a\\xffb\\xc0\\x80c")
end

---------------------------------------------------------------------------
-- Completion, the man page, README: every command and flag.
---------------------------------------------------------------------------

local TestCliDocs = {}

function TestCliDocs.test_completion_scripts()
  local scripts = { bash = "complete -F", zsh = "#compdef katamount", fish = "complete -c katamount" }
  for shell, want in pairs(scripts) do
    local r = km("completion " .. shell)
    lu.assertEquals(r.code, 0, r.err)
    lu.assertEquals(r.err, "")
    lu.assertStrContains(r.out, want)
    for _, c in ipairs({ "plan", "why", "classify", "rules", "mounts", "no-headers", "rootfs-option",
      "container-id", "sandbox-id" }) do
      lu.assertStrContains(r.out, c, false, shell)
    end
  end
  local _, ok = H.run("command -v bash")
  if ok then -- bash loads it
    H.sh("cd " .. q(H.root) .. " && bash -c " .. q("source <(" .. H.km_command("completion bash") ..
      ") && complete -p katamount"))
  end
  assert_one_line(km("completion tcsh"), 2, "katamount completion: argument 'shell' must be one of")
end

function TestCliDocs.test_man_page_and_readme_name_every_command_and_flag()
  local man, readme = H.read("man/man1/katamount.1"), H.read("README.md")
  for _, c in ipairs(require("katamount.cli").COMMANDS) do
    local help = km(c .. " --help")
    lu.assertEquals(help.code, 0, help.err)
    lu.assertStrContains(man, ".B " .. c)
    lu.assertStrContains(readme, "katamount " .. c)
    for flag in help.out:gmatch("%-%-[%w][%w-]*") do
      if flag ~= "--help" then
        lu.assertStrContains(man, (flag:gsub("%-", "\\-")), false,
          c .. " " .. flag .. " is not in the man page")
        lu.assertStrContains(readme, flag, false, c .. " " .. flag .. " is not in README.md")
      end
    end
  end
  lu.assertStrContains(km("--help").out, "completion")
end

return {
  TestCliInput = TestCliInput,
  TestCliAudit = TestCliAudit,
  TestCliTable = TestCliTable,
  TestCliWhy = TestCliWhy,
  TestCliJson = TestCliJson,
  TestCliDocs = TestCliDocs,
  TestCliOutput = TestCliOutput,
  TestCliExample = TestCliExample,
  TestCliUsage = TestCliUsage,
  TestCliBadInput = TestCliBadInput,
  TestCliUndecided = TestCliUndecided,
  TestCliRules = TestCliRules,
  TestCliMounts = TestCliMounts,
}
