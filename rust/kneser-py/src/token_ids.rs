//! Token ids from Python (`Vocab.decode`): numpy arrays of any integer dtype or sequences of
//! ints, checked the way numpy checks a conversion to `uint32` from Python integers, never
//! wrapped (a negative id is not 4294967295) or truncated (3.7 is not 3).
//!
//! - an integer array or a sequence of ints (Python, numpy): each id must lie in 0..=u32::MAX,
//!   else OverflowError naming the id and its index;
//! - floats, bools, strings, complex numbers, objects that are not integers: TypeError;
//! - an array of more than one dimension: ValueError (numpy's error for a shape).

use numpy::{PyArray1, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

fn out_of_range(id: impl std::fmt::Display, index: usize) -> PyErr {
    PyOverflowError::new_err(format!(
        "id {id} at index {index} is out of range for token ids (0 to {})",
        u32::MAX
    ))
}

/// The ids of a 1-D integer array.
fn from_array(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<u32>> {
    if arr.ndim() != 1 {
        return Err(PyValueError::new_err(format!(
            "ids must be one-dimensional, got an array of {} dimensions",
            arr.ndim()
        )));
    }
    let dtype = arr.dtype();
    if let Ok(a) = arr.cast::<PyArray1<u32>>() {
        return Ok(a.readonly().as_array().to_vec());
    }
    match dtype.kind() {
        b'u' => {
            let wide = arr.call_method1("astype", ("uint64",))?;
            let wide = wide.cast::<PyArray1<u64>>()?.readonly();
            wide.as_array()
                .iter()
                .enumerate()
                .map(|(i, &v)| u32::try_from(v).map_err(|_| out_of_range(v, i)))
                .collect()
        }
        b'i' => {
            let wide = arr.call_method1("astype", ("int64",))?;
            let wide = wide.cast::<PyArray1<i64>>()?.readonly();
            wide.as_array()
                .iter()
                .enumerate()
                .map(|(i, &v)| u32::try_from(v).map_err(|_| out_of_range(v, i)))
                .collect()
        }
        // Python objects: checked one by one like a list.
        b'O' => from_sequence(arr.as_any()),
        _ => Err(PyTypeError::new_err(format!(
            "ids must be integers, got an array of dtype {}",
            dtype.str()?
        ))),
    }
}

/// The ids of a sequence (or any iterable) of integers.
fn from_sequence(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("ids must be integers, got a str"));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "ids must be a sequence or a numpy array of integers, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut ids = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let type_name = item.get_type().name()?.to_string();
        // bool is an int to Python, but a bool among ids is a mistake; so is numpy's bool_.
        if item.is_instance_of::<PyBool>() || type_name == "bool_" || type_name == "bool" {
            return Err(PyTypeError::new_err(format!(
                "ids must be integers, got {type_name} at index {i}"
            )));
        }
        // operator.index semantics: ints and numpy integers; a float is a TypeError.
        let value = item.call_method0("__index__").map_err(|_| {
            PyTypeError::new_err(format!(
                "ids must be integers, got {type_name} at index {i}"
            ))
        })?;
        match value.extract::<i64>() {
            Ok(v) => ids.push(u32::try_from(v).map_err(|_| out_of_range(v, i))?),
            Err(_) => return Err(out_of_range(value, i)),
        }
    }
    Ok(ids)
}

/// Token ids from `obj`: see the module doc for what is accepted and which errors are raised.
pub fn token_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    match obj.cast::<PyUntypedArray>() {
        Ok(arr) => from_array(arr),
        Err(_) => from_sequence(obj),
    }
}
