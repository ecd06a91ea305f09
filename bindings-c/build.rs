//! The shared library is installed as `libtidelog.so`: give it that soname, so that
//! programs linked with `-ltidelog` look for that file at run time.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtidelog.so");
}
