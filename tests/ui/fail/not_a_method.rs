use elegy::prelude::*;

#[step]
struct Linear;

fn main() {
    let _ = Linear;
}
