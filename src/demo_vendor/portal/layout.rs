//! The admin's page frame (header, user tools, breadcrumbs, messages) and
//! its list pieces (search bar, paginator), as Django renders them. Every
//! piece of data goes through [`esc`] first.

use crate::demo_vendor::html::{esc, url_encode};

/// The site header.
pub const SITE: &str = "Demo Portal administration";

const CSS: &str = "
body{font-family:Roboto,'Segoe UI',system-ui,sans-serif;margin:0;color:#333;font-size:14px}
#header{background:#417690;color:#ffc;padding:10px 40px;display:flex;justify-content:space-between;align-items:center}
#header a{color:#fff;text-decoration:none}
#site-name{margin:0;font-size:1.4rem;font-weight:300}
div.breadcrumbs{background:#79aec8;color:#c4dce8;padding:10px 40px}
div.breadcrumbs a{color:#fff}
#content{padding:20px 40px}
table{border-collapse:collapse}
th,td{padding:8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
thead th{background:#f6f6f6;font-size:11px;text-transform:uppercase}
ul.messagelist{list-style:none;margin:0;padding:0}
ul.messagelist li.success{background:#dfd;padding:10px 40px}
p.errornote{color:#ba2121;border:1px solid #ba2121;padding:10px}
ul.errorlist{color:#ba2121;margin:0}
.form-row{padding:10px;border-bottom:1px solid #eee}
.form-row label{display:inline-block;width:160px;font-weight:bold}
div.readonly{display:inline-block}
p.paginator a,p.paginator span{margin-right:6px}
.submit-row{padding:12px;background:#f8f8f8;text-align:right}
";

/// A full admin page; `user` renders the user tools, `crumbs` the
/// breadcrumbs after "Home", `messages` the success list.
pub fn admin_page(user: Option<&str>, title: &str, crumbs: &[(&str, &str)], body: &str) -> String {
    frame(user, title, crumbs, &[], body)
}

/// [`admin_page`] with Django's one-time messages.
pub fn frame(
    user: Option<&str>,
    title: &str,
    crumbs: &[(&str, &str)],
    messages: &[String],
    body: &str,
) -> String {
    let tools = match user {
        Some(u) => format!(
            "<div id=\"user-tools\">Welcome, <strong>{}</strong>. \
             <a href=\"/admin/logout/\">Log out</a></div>",
            esc(u)
        ),
        None => String::new(),
    };
    let mut trail = String::from("<a href=\"/admin/\">Home</a>");
    for (label, href) in crumbs {
        if href.is_empty() {
            trail.push_str(&format!(" › {}", esc(label)));
        } else {
            trail.push_str(&format!(" › <a href=\"{}\">{}</a>", esc(href), esc(label)));
        }
    }
    let messages = if messages.is_empty() {
        String::new()
    } else {
        let items: String = messages
            .iter()
            .map(|m| format!("<li class=\"success\">{}</li>", esc(m)))
            .collect();
        format!("<ul class=\"messagelist\">{items}</ul>\n")
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en-us\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title} | {SITE}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<div id=\"container\">\n\
         <div id=\"header\"><div id=\"branding\"><h1 id=\"site-name\"><a href=\"/admin/\">{SITE}</a></h1></div>{tools}</div>\n\
         <nav aria-label=\"Breadcrumbs\"><div class=\"breadcrumbs\">{trail}</div></nav>\n\
         <div class=\"main\" id=\"main\">{messages}<div id=\"content\" class=\"flex\">\n{body}\n</div></div>\n</div>\n</body>\n</html>\n",
        title = esc(title),
    )
}

/// The login page (no user tools, no breadcrumbs).
pub fn login_page(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en-us\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Log in | {SITE}</title>\n<style>{CSS}</style>\n</head>\n<body class=\"login\">\n<div id=\"container\">\n\
         <div id=\"header\"><div id=\"branding\"><h1 id=\"site-name\"><a href=\"/admin/\">{SITE}</a></h1></div></div>\n\
         <div class=\"main\" id=\"main\"><div id=\"content\" class=\"colM\">\n{body}\n</div></div>\n</div>\n</body>\n</html>\n"
    )
}

/// One page of a list: the rows shown and Django's 0-based page number.
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
}

/// Cuts `all` into pages of `per_page`; a page past the end shows the last.
pub fn paginate<T>(all: Vec<T>, page: usize, per_page: usize) -> Paged<T> {
    let total = all.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = page.min(pages - 1);
    let rows = all
        .into_iter()
        .skip(page * per_page)
        .take(per_page)
        .collect();
    Paged {
        rows,
        page,
        pages,
        total,
    }
}

/// `?a=b&p=N` keeping the list's filters (`keep`, empty values dropped).
fn page_href(keep: &[(&str, &str)], page: usize) -> String {
    let mut parts: Vec<String> = keep
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    parts.push(format!("p={page}"));
    format!("?{}", parts.join("&"))
}

/// `p.paginator`: the page links (the current one a `span.this-page`), a
/// `a.next` link while pages are left, and the count ("60 tenants"). An
/// empty list's paginator also has the class `empty`.
pub fn paginator<T>(paged: &Paged<T>, keep: &[(&str, &str)], noun: &str) -> String {
    if paged.total == 0 {
        return format!("<p class=\"paginator empty\">0 {noun}</p>");
    }
    let mut out = String::from("<p class=\"paginator\">");
    if paged.pages > 1 {
        for i in 0..paged.pages {
            if i == paged.page {
                out.push_str(&format!("<span class=\"this-page\">{}</span> ", i + 1));
            } else {
                out.push_str(&format!(
                    "<a href=\"{}\"{}>{}</a> ",
                    esc(&page_href(keep, i)),
                    if i + 1 == paged.pages {
                        " class=\"end\""
                    } else {
                        ""
                    },
                    i + 1
                ));
            }
        }
        if paged.page + 1 < paged.pages {
            out.push_str(&format!(
                "<a href=\"{}\" class=\"next\">Next ›</a> ",
                esc(&page_href(keep, paged.page + 1))
            ));
        }
    }
    out.push_str(&format!("{} {noun}</p>", paged.total));
    out
}

/// `form#changelist-search` with `input#searchbar` (and the list's other
/// filters as hidden inputs, as Django keeps them).
pub fn search_bar(q: &str, keep: &[(&str, &str)]) -> String {
    let hidden: String = keep
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        "<div id=\"toolbar\"><form id=\"changelist-search\" method=\"get\"><div>\
         <label for=\"searchbar\">Search</label> \
         <input type=\"text\" size=\"40\" name=\"q\" value=\"{}\" id=\"searchbar\">{hidden} \
         <input type=\"submit\" value=\"Search\"></div></form></div>",
        esc(q)
    )
}

/// A read-only field of a change form, as Django renders it:
/// `div.form-row.field-NAME > div > label + div.readonly`.
pub fn readonly_row(name: &str, label: &str, value_html: &str) -> String {
    format!(
        "<div class=\"form-row field-{name}\"><div><label>{}:</label>\
         <div class=\"readonly\">{value_html}</div></div></div>\n",
        esc(label)
    )
}

/// Django's form error block: the note and each field's `ul.errorlist`.
pub fn error_note(errors: &[String]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let items: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", esc(e)))
        .collect();
    let note = if errors.len() == 1 {
        "Please correct the error below."
    } else {
        "Please correct the errors below."
    };
    format!("<p class=\"errornote\">{note}</p>\n<ul class=\"errorlist\">{items}</ul>\n")
}
