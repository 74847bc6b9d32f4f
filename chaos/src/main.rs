//! `catalytic-chaos`: runs every chaos scenario and prints a markdown table.

fn main() {}
