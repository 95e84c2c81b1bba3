//! The comments of the `.proto` files, read from the source info the descriptor set carries
//! (`build.rs` keeps it), so the document says what the contracts say.

use std::collections::HashMap;

use prost_reflect::{
    DescriptorPool, EnumDescriptor, EnumValueDescriptor, FieldDescriptor, FileDescriptor,
    MessageDescriptor, MethodDescriptor, ServiceDescriptor,
};

/// The leading comment of every commented element of a pool, by file and descriptor path,
/// with each line's indentation removed.
#[derive(Debug, Clone, Default)]
pub struct Comments {
    by_path: HashMap<(String, Vec<i32>), String>,
}

impl Comments {
    /// Reads every file of `pool`; files without source info have no comments.
    pub fn new(pool: &DescriptorPool) -> Self {
        let mut by_path = HashMap::new();
        for file in pool.files() {
            let proto = file.file_descriptor_proto();
            let Some(info) = &proto.source_code_info else {
                continue;
            };
            for location in &info.location {
                let Some(text) = location.leading_comments.as_deref() else {
                    continue;
                };
                let text = text
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_owned();
                if !text.is_empty() {
                    by_path.insert((file.name().to_owned(), location.path.clone()), text);
                }
            }
        }
        Self { by_path }
    }

    /// The comment of a service, RPC, message, field, enum or enum value.
    pub fn of(&self, element: &impl Located) -> Option<&str> {
        self.by_path
            .get(&(
                element.file().name().to_owned(),
                element.source_path().to_vec(),
            ))
            .map(String::as_str)
    }
}

/// An element of a `.proto` file that can carry a comment: where it is declared.
pub trait Located {
    /// The file that declares it.
    fn file(&self) -> FileDescriptor;
    /// Its path in the file's source info.
    fn source_path(&self) -> &[i32];
}

macro_rules! located {
    ($($descriptor:ty),*) => {$(
        impl Located for $descriptor {
            fn file(&self) -> FileDescriptor {
                self.parent_file()
            }
            fn source_path(&self) -> &[i32] {
                self.path()
            }
        }
    )*};
}

located!(
    ServiceDescriptor,
    MethodDescriptor,
    MessageDescriptor,
    FieldDescriptor,
    EnumDescriptor,
    EnumValueDescriptor
);
