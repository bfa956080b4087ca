//! Products: read them, and change them atomically.
//!
//! Every change of a stored product — a buyer's order reserving stock, the reconciler giving
//! stock back, each of the merchant's edits — goes through `update_products`: read, change,
//! write in one sled transaction over the products tree. Two changes of one product can then
//! never both start from the same old value, so no change is lost and no unit is sold twice.
//!
//! why a transaction, not `compare_and_swap` per product: an order of several products
//! reserves all of its lines or none, which needs one commit over several keys.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Store, StoreError, codec};
use crate::domain::Product;

const IMAGES: &str = "feature:product_images";

/// Version byte of an image value (raw bytes follow).
const IMAGE_V1: u8 = 1;

/// Why a product transaction stopped: the caller's closure refused, or the store failed.
enum Stop<E> {
    Refused(E),
    Store(StoreError),
}

/// The decoded products, kept between reads: every page of the shop lists or shows them, and
/// they change seldom (a merchant's edit, the stock of a sale), so decoding all of them from
/// sled on every page view was most of a shop page's own work (docs/performance.md).
///
/// Every write to the products tree bumps `written` once it has committed. A reader takes
/// `written` before it reads the tree and keeps what it read under that number, so what it
/// kept is never newer than its number says; a list kept under an older number than
/// `written` is read again.
#[derive(Default)]
pub(super) struct Catalogue {
    written: AtomicU64,
    kept: Mutex<Option<(u64, Arc<[Product]>)>>,
}

impl Catalogue {
    fn written(&self) {
        self.written.fetch_add(1, Ordering::AcqRel);
    }
}

impl Store {
    /// Every product, archived ones included, in shop order, as of the last committed write
    /// (a write still under way may or may not be seen). For pages: a decision that must see
    /// the stored product reads it in its transaction (`update_products`).
    pub fn catalogue(&self) -> Result<Arc<[Product]>, StoreError> {
        let c = &self.catalogue;
        let number = c.written.load(Ordering::Acquire);
        let lock = || c.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, kept)) = lock().as_ref().filter(|(kept_at, _)| *kept_at == number) {
            return Ok(Arc::clone(kept));
        }
        let read: Arc<[Product]> = self.products()?.into();
        let mut kept = lock();
        // why only forward: a slower reader must not replace a newer list with its older one.
        if kept.as_ref().is_none_or(|(kept_at, _)| *kept_at <= number) {
            *kept = Some((number, Arc::clone(&read)));
        }
        Ok(read)
    }

    /// Writes `product` whole, whatever is stored under its slug. Only for a product nobody
    /// else can be changing: the seed of a new shop, a test's setup. A change of a stored
    /// product goes through `update_product`, or it may undo a concurrent one.
    pub fn put_product(&self, product: &Product) -> Result<(), StoreError> {
        self.products.insert(product.slug.as_bytes(), codec::encode(product)?)?;
        self.catalogue.written();
        Ok(())
    }

    pub fn product(&self, slug: &str) -> Result<Option<Product>, StoreError> {
        self.products.get(slug.as_bytes())?.map(|v| codec::decode(&v)).transpose().map_err(Into::into)
    }

    /// All products, in shop order (position, then slug).
    pub fn products(&self) -> Result<Vec<Product>, StoreError> {
        let mut all = self
            .products
            .iter()
            .values()
            .map(|v| Ok(codec::decode::<Product>(&v?)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        all.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.slug.cmp(&b.slug)));
        Ok(all)
    }

    /// Changes one product atomically: `change` gets the product as stored now and edits it;
    /// when it returns `Ok` the edited product is written (unless nothing changed), when it
    /// returns `Err` nothing is. `Ok(None)`: there is no such product (`change` did not run).
    ///
    /// `change` must only look at the product it is given (it runs inside the transaction,
    /// and must not call the store).
    pub fn update_product<T, E: From<StoreError>>(
        &self,
        slug: &str,
        mut change: impl FnMut(&mut Product) -> Result<T, E>,
    ) -> Result<Option<(Product, T)>, E> {
        let (mut after, out) = self.update_products(&[slug], |products| match products.first_mut() {
            Some(p) => change(p).map(Some),
            None => Ok(None),
        })?;
        Ok(out.and_then(|out| after.pop().map(|p| (p, out))))
    }

    /// Changes several products in one transaction: `change` gets those of `slugs` that exist
    /// (each once, in the order of `slugs`, missing ones left out) and edits them. When it
    /// returns `Ok` every edited product is written at once; when it returns `Err` none is —
    /// so an order reserves the stock of all its lines or of none. Returns the products as
    /// written and what `change` returned.
    ///
    /// `change` must only look at the products it is given: it runs inside the transaction,
    /// which holds sled's write lock, so calling the store from it would wait forever.
    pub fn update_products<T, E: From<StoreError>>(
        &self,
        slugs: &[&str],
        change: impl FnMut(&mut [Product]) -> Result<T, E>,
    ) -> Result<(Vec<Product>, T), E> {
        let mut unique: Vec<&str> = Vec::with_capacity(slugs.len());
        for slug in slugs {
            // why: a slug twice would be read twice and written twice, the second write
            // silently undoing the first.
            if !unique.contains(slug) {
                unique.push(slug);
            }
        }
        // why a RefCell: sled may run its closure again after a conflict, so it takes `Fn`;
        // the caller's `FnMut` is called from it one run at a time.
        let change = RefCell::new(change);
        let stop = |s: Stop<E>| ConflictableTransactionError::Abort(s);
        let result = Transactional::<Stop<E>>::transaction(&&self.products, |t| {
            let mut before = Vec::with_capacity(unique.len());
            for slug in &unique {
                if let Some(raw) = t.get(slug.as_bytes())? {
                    before.push(codec::decode::<Product>(&raw).map_err(|e| stop(Stop::Store(e.into())))?);
                }
            }
            let mut after = before.clone();
            let out = (change.borrow_mut())(&mut after).map_err(|e| stop(Stop::Refused(e)))?;
            for (old, new) in before.iter().zip(&after) {
                if new.slug != old.slug {
                    // why: the slug is the key; a product renamed in place would be written
                    // under the old key with a new slug inside.
                    return Err(stop(Stop::Store(StoreError::SlugChanged(old.slug.clone()))));
                }
                if new != old {
                    let value = codec::encode(new).map_err(|e| stop(Stop::Store(e.into())))?;
                    t.insert(new.slug.as_bytes(), value)?;
                }
            }
            Ok((after, out))
        });
        match result {
            Ok(done) => {
                self.catalogue.written();
                Ok(done)
            }
            Err(TransactionError::Abort(Stop::Refused(e))) => Err(e),
            Err(TransactionError::Abort(Stop::Store(e))) => Err(e.into()),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e).into()),
        }
    }

    /// Stores a new product unless its slug is taken (atomically). `false`: taken.
    pub fn create_product(&self, product: &Product) -> Result<bool, StoreError> {
        let value = codec::encode(product)?;
        let swapped = self.products.compare_and_swap(product.slug.as_bytes(), None::<&[u8]>, Some(value))?;
        self.catalogue.written();
        Ok(swapped.is_ok())
    }

    // ---- images (bytes kept with the data, so a backup of `data_dir` is the whole shop) ----

    /// Stores a product's image and its thumbnail (under `<slug>#thumb`) in one batch; no
    /// thumbnail removes an older one, so a thumbnail is always of the image beside it.
    pub fn put_product_image(
        &self,
        slug: &str,
        bytes: &[u8],
        thumb: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let value = |bytes: &[u8]| {
            let mut value = Vec::with_capacity(bytes.len() + 1);
            value.push(IMAGE_V1);
            value.extend_from_slice(bytes);
            value
        };
        let mut batch = sled::Batch::default();
        batch.insert(slug.as_bytes(), value(bytes));
        match thumb {
            Some(t) => batch.insert(thumb_key(slug).as_bytes(), value(t)),
            None => batch.remove(thumb_key(slug).as_bytes()),
        }
        self.feature_tree(IMAGES)?.apply_batch(batch)?;
        Ok(())
    }

    pub fn product_image(&self, slug: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.image_value(slug)
    }

    /// The thumbnail of a product's image; `None` when none was stored (serve the image).
    pub fn product_thumb(&self, slug: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.image_value(&thumb_key(slug))
    }

    fn image_value(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.feature_tree(IMAGES)?.get(key.as_bytes())? {
            None => Ok(None),
            Some(v) => match v.split_first() {
                Some((&IMAGE_V1, bytes)) => Ok(Some(bytes.to_vec())),
                Some((&other, _)) => Err(codec::CodecError::Version(other).into()),
                None => Err(codec::CodecError::Empty.into()),
            },
        }
    }

    pub fn remove_product_image(&self, slug: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        batch.remove(slug.as_bytes());
        batch.remove(thumb_key(slug).as_bytes());
        self.feature_tree(IMAGES)?.apply_batch(batch)?;
        Ok(())
    }
}

/// The key of a product's thumbnail: `#` is never in a slug (`[a-z0-9-]`), so it cannot be
/// another product's image.
fn thumb_key(slug: &str) -> String {
    format!("{slug}#thumb")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{Fen, Required};
    use crate::store::test_dir::TempDir;

    fn mug(slug: &str, stock: Option<u32>) -> Product {
        Product {
            slug: slug.to_owned(),
            name: "Mug".to_owned(),
            description: String::new(),
            price: Fen::new(300).expect("fen"),
            position: 0,
            archived: false,
            stock,
            image: None,
            required: Required::default(),
        }
    }

    #[test]
    fn the_catalogue_is_decoded_once_and_read_again_after_every_kind_of_product_write() {
        let dir = TempDir::new("catalogue");
        let store = Store::open(dir.path()).expect("open");
        store.put_product(&mug("cup", Some(5))).expect("put");
        let first = store.catalogue().expect("read");
        assert!(Arc::ptr_eq(&first, &store.catalogue().expect("read")), "kept between reads");

        store
            .update_product("cup", |p| {
                p.stock = Some(4);
                Ok::<_, StoreError>(())
            })
            .expect("change");
        let changed = store.catalogue().expect("read");
        assert_eq!(changed.iter().map(|p| p.stock).collect::<Vec<_>>(), [Some(4)]);

        assert!(store.create_product(&mug("pot", None)).expect("create"));
        let created = store.catalogue().expect("read");
        assert_eq!(created.iter().map(|p| p.slug.as_str()).collect::<Vec<_>>(), ["cup", "pot"]);

        store.put_product(&Product { archived: true, ..mug("pot", None) }).expect("put");
        assert!(store.catalogue().expect("read").iter().any(|p| p.slug == "pot" && p.archived));
        assert_eq!(*store.catalogue().expect("read"), *store.products().expect("read"), "the same as sled's");
    }

    /// A change the test's closure refuses: too few units left.
    #[derive(Debug)]
    enum Refused {
        Short,
        Store(StoreError),
    }

    impl From<StoreError> for Refused {
        fn from(e: StoreError) -> Refused {
            Refused::Store(e)
        }
    }

    fn take(p: &mut Product, qty: u32) -> Result<(), Refused> {
        p.take_stock(qty).map_err(|_| Refused::Short)
    }

    #[test]
    fn concurrent_takes_gives_and_renames_of_one_product_lose_no_update() {
        let dir = TempDir::new("product-race");
        let store = Arc::new(Store::open(dir.path()).expect("open"));
        store.put_product(&mug("mug", Some(10))).expect("put");
        let threads: Vec<_> = (0..24)
            .map(|i| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    let mut taken = 0u32;
                    let mut given = 0u32;
                    for n in 0..20 {
                        match (i + n) % 3 {
                            0 => match store.update_product("mug", |p| take(p, 1)) {
                                Ok(_) => taken += 1,
                                Err(Refused::Short) => {}
                                Err(Refused::Store(e)) => panic!("store: {e}"),
                            },
                            1 => {
                                store
                                    .update_product("mug", |p| {
                                        p.give_back_stock(1);
                                        Ok::<_, StoreError>(())
                                    })
                                    .expect("give");
                                given += 1;
                            }
                            _ => {
                                store
                                    .update_product("mug", |p| {
                                        p.name = format!("Mug {i}");
                                        Ok::<_, StoreError>(())
                                    })
                                    .expect("rename");
                            }
                        }
                    }
                    (taken, given)
                })
            })
            .collect();
        let (taken, given) = threads
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .fold((0, 0), |(t, g), (dt, dg)| (t + dt, g + dg));
        let left = store.product("mug").expect("read").and_then(|p| p.stock);
        assert_eq!(left, Some(10 + given - taken), "every take and give counted exactly once");
    }

    #[test]
    fn an_order_short_of_one_product_reserves_none_of_the_others() {
        let dir = TempDir::new("product-all-or-none");
        let store = Store::open(dir.path()).expect("open");
        store.put_product(&mug("cup", Some(5))).expect("put");
        store.put_product(&mug("pot", Some(1))).expect("put");
        let wanted = [("cup", 2), ("pot", 2)];
        let refused = store.update_products(&["cup", "pot"], |products| {
            for (p, (_, qty)) in products.iter_mut().zip(wanted) {
                take(p, qty)?;
            }
            Ok(())
        });
        assert!(matches!(refused, Err(Refused::Short)));
        let stock = |slug| store.product(slug).expect("read").and_then(|p| p.stock);
        assert_eq!((stock("cup"), stock("pot")), (Some(5), Some(1)), "nothing reserved");
    }

    #[test]
    fn a_missing_product_is_left_out_and_a_slug_asked_twice_is_changed_once() {
        let dir = TempDir::new("product-missing");
        let store = Store::open(dir.path()).expect("open");
        store.put_product(&mug("cup", Some(5))).expect("put");
        let missing = store.update_product("nope", |_| Ok::<_, StoreError>(())).expect("no failure");
        assert!(missing.is_none());
        let (written, seen) = store
            .update_products(&["cup", "nope", "cup"], |products| {
                for p in products.iter_mut() {
                    p.give_back_stock(1);
                }
                Ok::<_, StoreError>(products.len())
            })
            .expect("update");
        assert_eq!((seen, written.len()), (1, 1));
        assert_eq!(store.product("cup").expect("read").and_then(|p| p.stock), Some(6));
    }

    #[test]
    fn a_change_of_the_slug_is_refused_and_nothing_written() {
        let dir = TempDir::new("product-slug");
        let store = Store::open(dir.path()).expect("open");
        store.put_product(&mug("cup", Some(5))).expect("put");
        let renamed = store.update_product("cup", |p| {
            p.slug = "mug".to_owned();
            p.stock = None;
            Ok::<_, StoreError>(())
        });
        assert!(matches!(renamed, Err(StoreError::SlugChanged(_))));
        assert_eq!(store.product("cup").expect("read").and_then(|p| p.stock), Some(5));
        assert!(store.product("mug").expect("read").is_none());
    }
}
