//! An optional value kept out of line, in a box that comes from and goes back to a
//! per-thread free list: a connection between requests holds only a null pointer for its
//! per-request state (hundreds of bytes each for the request being read and the response
//! being written), and a busy connection takes a box without a heap allocation.
//!
//! Used by the HTTP/1 state of a connection, which lives as long as the connection while
//! the per-request parts live as long as one request.

use std::cell::RefCell;
use std::fmt;
use std::thread::LocalKey;

/// Free boxes kept per thread and per type.
const KEEP: usize = 64;

/// The per-thread free list of a type's boxes (see [`pooled!`]).
pub(crate) type FreeList<T> = RefCell<Vec<Box<Option<T>>>>;

/// A type whose boxes are recycled through a per-thread free list.
pub(crate) trait Recycle: Sized + 'static {
    /// This type's free list.
    fn free_list() -> &'static LocalKey<FreeList<Self>>;
}

/// Implements [`Recycle`] for a type, with a free list of its own.
macro_rules! pooled {
    ($t:ty) => {
        impl $crate::pooled::Recycle for $t {
            fn free_list() -> &'static ::std::thread::LocalKey<$crate::pooled::FreeList<Self>> {
                ::std::thread_local! {
                    static FREE: $crate::pooled::FreeList<$t> =
                        const { ::std::cell::RefCell::new(::std::vec::Vec::new()) };
                }
                &FREE
            }
        }
    };
}
pub(crate) use pooled;

/// `Option<T>` stored in a recycled box (none while empty).
pub(crate) struct Pooled<T: Recycle>(Option<Box<Option<T>>>);

impl<T: Recycle> Pooled<T> {
    /// Empty, holding no box.
    pub(crate) const fn none() -> Self {
        Pooled(None)
    }

    /// Stores `v`, in a box from this thread's free list (or a new one).
    pub(crate) fn set(&mut self, v: T) {
        match &mut self.0 {
            Some(b) => **b = Some(v),
            None => {
                let mut b = T::free_list()
                    .with(|l| l.borrow_mut().pop())
                    .unwrap_or_else(|| Box::new(None));
                *b = Some(v);
                self.0 = Some(b);
            }
        }
    }

    /// Takes the value out and gives the box back.
    pub(crate) fn take(&mut self) -> Option<T> {
        let mut b = self.0.take()?;
        let v = b.take();
        give_back(b);
        v
    }

    /// Drops the value (where it lies: no move out of the box) and gives the box back.
    pub(crate) fn clear(&mut self) {
        if let Some(mut b) = self.0.take() {
            *b = None;
            give_back(b);
        }
    }

    pub(crate) fn as_ref(&self) -> Option<&T> {
        self.0.as_deref().and_then(Option::as_ref)
    }

    pub(crate) fn as_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut().and_then(Option::as_mut)
    }
}

/// Puts an empty box on this thread's free list (or frees it when the list is full or the
/// thread is exiting).
fn give_back<T: Recycle>(b: Box<Option<T>>) {
    debug_assert!(b.is_none());
    let _ = T::free_list().try_with(move |l| {
        let mut l = l.borrow_mut();
        if l.len() < KEEP {
            l.push(b);
        }
    });
}

impl<T: Recycle> Drop for Pooled<T> {
    fn drop(&mut self) {
        // The value is dropped before the free list is borrowed: its own drop may give
        // boxes back too.
        self.clear();
    }
}

impl<T: Recycle> Default for Pooled<T> {
    fn default() -> Self {
        Pooled::none()
    }
}

impl<T: Recycle + fmt::Debug> fmt::Debug for Pooled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Big([u64; 32]);
    pooled!(Big);

    fn free() -> usize {
        Big::free_list().with(|l| l.borrow().len())
    }

    #[test]
    fn boxes_are_reused_and_an_empty_slot_holds_none() {
        assert_eq!(std::mem::size_of::<Pooled<Big>>(), 8);
        let mut a = Pooled::<Big>::none();
        assert!(a.as_ref().is_none());
        a.set(Big([1; 32]));
        let first = a.as_ref().map(|b| b as *const Big);
        assert_eq!(a.as_ref(), Some(&Big([1; 32])));
        a.as_mut().unwrap().0[0] = 7;
        assert_eq!(a.take().map(|b| b.0[0]), Some(7));
        assert!(a.take().is_none());
        assert_eq!(free(), 1, "the box went back");
        a.set(Big([2; 32]));
        assert_eq!(free(), 0, "and was taken again");
        assert_eq!(a.as_ref().map(|b| b as *const Big), first);
        // Setting over a value replaces it in the same box.
        a.set(Big([3; 32]));
        assert_eq!(a.as_ref().map(|b| b as *const Big), first);
        drop(a);
        assert_eq!(free(), 1, "dropping gives the box back");
        let mut many: Vec<Pooled<Big>> = (0..KEEP + 10).map(|_| Pooled::none()).collect();
        for p in &mut many {
            p.set(Big([0; 32]));
        }
        drop(many);
        assert_eq!(free(), KEEP, "at most KEEP kept");
    }
}
