//! `vectors/keyring.json`: `URLsMatchStr`, `isDefaultRegistryMatch`, and `BasicDockerKeyring`
//! `Add` + `Lookup` (index order and credential order).

use super::{load, s, Failures};
use crate::k8s::credentials::{is_default_registry_match, urls_match_str, Keyring};

#[test]
fn keyring_vectors() {
    let rows = load("keyring.json");
    let mut f = Failures::new("keyring.json");
    for row in &rows {
        f.checked += 1;
        let kind = s(row, "kind");
        let test = format!("{kind}/{}", s(row, "test"));
        match kind {
            "urlsMatch" => {
                let (g, t) = (s(row, "glob"), s(row, "target"));
                let want = row["expected_match"].as_bool().unwrap();
                f.eq(&test, &format!("{g} vs {t}"), "match", urls_match_str(g, t), want);
                f.eq(
                    &test,
                    &format!("{g} vs {t}"),
                    "computed_match",
                    want,
                    row["computed_match"].as_bool().unwrap(),
                );
            }
            "defaultRegistry" => {
                let image = s(row, "image");
                f.eq(
                    &test,
                    image,
                    "match",
                    is_default_registry_match(image),
                    row["expected_match"].as_bool().unwrap(),
                );
            }
            "lookup" => {
                let image = s(row, "image");
                let mut k: Keyring<String> = Keyring::new();
                for e in row["entries"].as_array().unwrap() {
                    let (key, user) = (e[0].as_str().unwrap(), e[1].as_str().unwrap());
                    if !k.add(key, user.to_string()) {
                        f.fail(&test, image, format!("key {key:?} rejected"));
                    }
                }
                let want_order: Vec<&str> = row["computed_index_order"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                f.eq(&test, image, "index order", k.keys(), want_order);
                let got = k.lookup(image);
                f.eq(&test, image, "found", !got.is_empty(), row["expected_found"].as_bool().unwrap());
                let want: Vec<String> = row["expected_users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                f.eq(&test, image, "users in order", got.clone(), want);
                let computed: Vec<String> = row["computed_users_in_order"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                f.eq(&test, image, "computed users", got, computed);
            }
            other => f.fail(other, "", "unknown row kind".to_string()),
        }
    }
    let n = rows.len();
    f.finish(n);
    assert_eq!(n, 44, "keyring.json row count changed");
}
