//! The one lookup-or-insert every per-cgroup map uses. All of them are preallocated: an
//! insert fails only when the map is full (never for want of memory, as a
//! BPF_F_NO_PREALLOC map does until the kernel refills its per-CPU caches), and a new
//! key starts at zero on every CPU (the kernel zeroes a reused preallocated per-CPU
//! element; a non-preallocated one kept the last key's values on 6.1).
use aya_ebpf::{bindings::BPF_NOEXIST, maps::PerCpuHashMap};

/// This CPU's value for `key`, created as `init()` if absent; `None` only when the map is
/// full. NOEXIST: another CPU may have created it meanwhile, and the second lookup then
/// finds that one instead of resetting it.
///
/// The initial value is made on this program's stack, and only when the key is new (not
/// on every call). Never a pointer to a constant: a constant (`&0`) is a read-only global
/// to the compiler, which may merge it with any other zero-initialised read-only global
/// of the same size, including one the agent patches before loading. The errno map then
/// started every new key at the PMU slot mask (193 on the arm64 guest), not at zero.
#[inline(always)]
pub fn slot<K, V>(map: &PerCpuHashMap<K, V>, key: &K, init: impl FnOnce() -> V) -> Option<*mut V> {
    if let Some(p) = map.get_ptr_mut(key) {
        return Some(p);
    }
    let on_stack = init();
    let _ = map.insert(key, &on_stack, BPF_NOEXIST as u64);
    map.get_ptr_mut(key)
}

/// As [`slot`], for values too large for the stack: `init` points into a map.
#[inline(always)]
pub fn slot_from<K, V>(map: &PerCpuHashMap<K, V>, key: &K, init: &V) -> Option<*mut V> {
    if let Some(p) = map.get_ptr_mut(key) {
        return Some(p);
    }
    let _ = map.insert(key, init, BPF_NOEXIST as u64);
    map.get_ptr_mut(key)
}
