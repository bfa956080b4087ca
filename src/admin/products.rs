//! `/admin/products`: the list in shop order (archived ones apart), create, edit, archive and
//! unarchive, move up and down. Thin: the form is checked in `product_form`, the change is
//! made by the checkout's catalogue (`checkout::catalogue`).

use std::sync::Arc;

use askama::Template;
use rocket::form::{Contextual, Form};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State, get, post};

use super::product_form::{self, FormView, ImageChange, ProductForm};
use super::session::{ClientAddr, Token};
use super::{Admin, AdminError, AdminSession, Chrome, Section, audit, images};
use crate::checkout::catalogue::NewImage;
use crate::domain::{Product, Slug};
use crate::web::{Frame, Lang, Page};

pub fn routes() -> Vec<rocket::Route> {
    rocket::routes![list, new, create, edit, update, archive, unarchive, up, down]
}

/// A product as the list shows it.
pub struct Row {
    pub slug: String,
    pub name: String,
    pub price: String,
    pub stock: String,
    pub image_url: Option<String>,
}

impl Row {
    fn of(p: &Product, lang: Lang) -> Row {
        Row {
            slug: p.slug.clone(),
            name: p.name.clone(),
            price: p.price.to_string(),
            stock: p.stock.map_or_else(|| lang.words().product_stock_unlimited.to_owned(), |s| s.to_string()),
            image_url: images::url(p),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/products.html")]
pub struct ListPage {
    chrome: Chrome,
    active: Vec<Row>,
    archived: Vec<Row>,
}

#[derive(Template)]
#[template(path = "admin/product_form.html")]
pub struct FormPage {
    chrome: Chrome,
    form: FormView,
    problem: Option<String>,
}

type FormReply = Result<Either<Redirect, (Status, Page<FormPage>)>, AdminError>;

fn form_page(
    frame: Frame,
    session: &AdminSession,
    form: FormView,
    problem: Option<String>,
) -> Page<FormPage> {
    Page(FormPage { chrome: Chrome::new(frame, Some(session), Section::Products), form, problem })
}

#[get("/products")]
pub fn list(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
) -> Result<Page<ListPage>, AdminError> {
    let (archived, active): (Vec<Product>, Vec<Product>) =
        admin.checkout.products()?.into_iter().partition(|p| p.archived);
    let lang = frame.lang;
    let rows = |ps: &[Product]| ps.iter().map(|p| Row::of(p, lang)).collect();
    Ok(Page(ListPage {
        chrome: Chrome::new(frame, Some(&session), Section::Products),
        active: rows(&active),
        archived: rows(&archived),
    }))
}

#[get("/products/new")]
pub fn new(session: AdminSession, frame: Frame) -> Page<FormPage> {
    form_page(frame, &session, FormView::empty(), None)
}

#[get("/products/<slug>/edit")]
pub fn edit(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    slug: Option<Slug>,
) -> Result<Page<FormPage>, AdminError> {
    let slug = known(&slug)?;
    let product = admin.checkout.product(slug)?.ok_or(AdminError::NotFound)?;
    Ok(form_page(frame, &session, FormView::of(&product), None))
}

/// The form sent back with its problems (422), nothing saved.
fn refused(
    frame: Frame,
    session: &AdminSession,
    view: FormView,
    form: &Contextual<'_, ProductForm<'_>>,
    errors: Vec<(&'static str, String)>,
) -> FormReply {
    let problem = frame.lang.words().product_not_saved;
    let view = FormView { errors, ..view.refill(form) };
    Ok(Either::Right((
        Status::UnprocessableEntity,
        form_page(frame, session, view, Some(problem.to_owned())),
    )))
}

/// A form that could not be read at all (too large a body, a broken upload).
fn unreadable(lang: Lang) -> Vec<(&'static str, String)> {
    vec![("image", lang.words().product_form_unreadable.to_owned())]
}

#[post("/products", data = "<form>")]
pub async fn create(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    form: Form<Contextual<'_, ProductForm<'_>>>,
) -> FormReply {
    session.check_form(&form)?;
    let Some(value) = &form.value else {
        let why = unreadable(frame.lang);
        return refused(frame, &session, FormView::empty(), &form, why);
    };
    let input = match product_form::check(value, None, frame.lang).await {
        Ok(input) => input,
        Err(errors) => return refused(frame, &session, FormView::empty(), &form, errors),
    };
    let product = Product {
        slug: input.slug,
        name: input.name,
        description: input.description,
        price: input.price,
        position: 0,
        archived: false,
        stock: input.stock,
        image: None,
        required: input.required,
    };
    if !admin.checkout.add_product(product.clone(), new_image(input.image))? {
        let taken = frame.lang.words().product_slug_taken;
        return refused(frame, &session, FormView::empty(), &form, vec![("slug", taken.to_owned())]);
    }
    let detail = format!("{} {} {}", product.slug, product.name, product.price);
    audit::done(admin, "product.create", &detail, &addr).await?;
    Ok(Either::Left(Redirect::to("/admin/products")))
}

#[post("/products/<slug>/edit", data = "<form>")]
pub async fn update(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    frame: Frame,
    addr: ClientAddr,
    slug: Option<Slug>,
    form: Form<Contextual<'_, ProductForm<'_>>>,
) -> FormReply {
    session.check_form(&form)?;
    let slug = known(&slug)?;
    let existing = admin.checkout.product(slug)?.ok_or(AdminError::NotFound)?;
    let view = FormView::of(&existing);
    let Some(value) = &form.value else {
        let why = unreadable(frame.lang);
        return refused(frame, &session, view, &form, why);
    };
    let mut input = match product_form::check(value, Some(slug), frame.lang).await {
        Ok(input) => input,
        Err(errors) => return refused(frame, &session, view, &form, errors),
    };
    // why: without the form's own record of the stock it showed, the stock read at the start
    // of this request is the best guess of what the merchant left untouched.
    let seen = input.stock_seen.unwrap_or(existing.stock);
    let image = new_image(std::mem::replace(&mut input.image, ImageChange::Keep));
    let product = admin
        .checkout
        .edit_product(slug, image, |current, image| {
            input.edit(current, seen, image);
            Ok::<_, AdminError>(())
        })?
        .ok_or(AdminError::NotFound)?;
    let detail = format!("{} {} {}", product.slug, product.name, product.price);
    audit::done(admin, "product.update", &detail, &addr).await?;
    Ok(Either::Left(Redirect::to("/admin/products")))
}

/// What a checked form does to the image, as the catalogue stores it.
fn new_image(change: ImageChange) -> NewImage {
    match change {
        ImageChange::Keep => NewImage::Keep,
        ImageChange::Remove => NewImage::Remove,
        ImageChange::Replace { image, thumb } => NewImage::Replace {
            image: image.reference(thumb.as_ref()),
            bytes: image.bytes,
            thumb: thumb.map(|t| t.bytes),
        },
    }
}

type ActionForm<'r> = Form<Contextual<'r, Token<'r>>>;

/// A slug segment that is not one names no product.
fn known(slug: &Option<Slug>) -> Result<&str, AdminError> {
    slug.as_ref().map(Slug::as_str).ok_or(AdminError::NotFound)
}

async fn set_archived(
    admin: &Admin,
    addr: &ClientAddr,
    slug: &str,
    archived: bool,
) -> Result<Redirect, AdminError> {
    if !admin.checkout.set_archived(slug, archived)? {
        return Err(AdminError::NotFound);
    }
    let action = if archived { "product.archive" } else { "product.unarchive" };
    audit::done(admin, action, slug, addr).await?;
    Ok(Redirect::to("/admin/products"))
}

#[post("/products/<slug>/archive", data = "<form>")]
pub async fn archive(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    addr: ClientAddr,
    slug: Option<Slug>,
    form: ActionForm<'_>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    let slug = known(&slug)?;
    set_archived(admin, &addr, slug, true).await
}

#[post("/products/<slug>/unarchive", data = "<form>")]
pub async fn unarchive(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    addr: ClientAddr,
    slug: Option<Slug>,
    form: ActionForm<'_>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    let slug = known(&slug)?;
    set_archived(admin, &addr, slug, false).await
}

/// Moves a product one place up or down among the products on sale (see
/// `Checkout::move_product`).
async fn shift(admin: &Admin, addr: &ClientAddr, slug: &str, up: bool) -> Result<Redirect, AdminError> {
    let moved = admin.checkout.move_product(slug, up)?.ok_or(AdminError::NotFound)?;
    if moved {
        let action = if up { "product.move_up" } else { "product.move_down" };
        audit::done(admin, action, slug, addr).await?;
    }
    Ok(Redirect::to("/admin/products"))
}

#[post("/products/<slug>/up", data = "<form>")]
pub async fn up(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    addr: ClientAddr,
    slug: Option<Slug>,
    form: ActionForm<'_>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    let slug = known(&slug)?;
    shift(admin, &addr, slug, true).await
}

#[post("/products/<slug>/down", data = "<form>")]
pub async fn down(
    admin: &State<Arc<Admin>>,
    session: AdminSession,
    addr: ClientAddr,
    slug: Option<Slug>,
    form: ActionForm<'_>,
) -> Result<Redirect, AdminError> {
    session.check_form(&form)?;
    let slug = known(&slug)?;
    shift(admin, &addr, slug, false).await
}
