//! One stable insertion sort for the few short lists the server sorts while it starts
//! (configuration keys, TLS versions and cipher suites, SNI wildcards, trust store files).
//!
//! The standard library's sorts are fast on long slices but each element type they are used
//! with adds several kilobytes of code (driftsort and its small-sort networks); the lists
//! sorted here hold a few to a few hundred items, once, at startup. Six such sorts cost about
//! 25 KB of the aarch64 binary; this one costs a few hundred bytes per use.

use std::cmp::Ordering;

/// Sorts `v` in place by `cmp`, keeping equal items in their order (a stable sort).
/// Quadratic: only for short lists outside the request path.
pub(crate) fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && cmp(&v[j - 1], &v[j]) == Ordering::Greater {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// [`sort_by`] with a key, like `slice::sort_by_key`.
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        // Every permutation-ish input of a small pseudo-random sequence, with duplicates
        // keyed equal, ends up as `sort_by_key` of the standard library leaves it.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            let mut v: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    ((seed % 7) as u8, i)
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_by_key(|x| x.0);
            sort_by_key(&mut v, |x| x.0);
            assert_eq!(v, expected, "len {len}");
        }
    }

    #[test]
    fn sort_by_orders_by_the_comparison() {
        let mut v = vec!["b", "a", "c", "a"];
        sort_by(&mut v, |a, b| b.cmp(a));
        assert_eq!(v, ["c", "b", "a", "a"]);
    }
}
